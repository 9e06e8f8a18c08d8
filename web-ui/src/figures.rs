//! The operator page's key figures and its charts of records and peers over the last days,
//! drawn on the server as SVG: no script, readable by screen readers through a title, a
//! description and the same figures in a sentence beside the chart.

use maillon_protocol::ids::Timestamp;

use crate::drawing::escape;
use crate::page::date;
use crate::session::Lang;

/// The figures `/metrics` also gives, as the operator page shows them.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct KeyFigures {
    /// Peers connected directly (hole-punched included).
    pub peers_direct: u64,
    /// Peers reached through a relay.
    pub peers_relayed: u64,
    /// Seconds since the last sync session that went to its end, if any did.
    pub last_sync_secs: Option<u64>,
    /// The record store's size on disk, if known.
    pub store_bytes: Option<u64>,
    /// Photos held.
    pub photos: u64,
    /// Their size.
    pub photo_bytes: u64,
    /// E-mails waiting to be sent.
    pub mail_queue: u64,
}

/// One sample of the history.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct HistoryPoint {
    /// When.
    pub at: Timestamp,
    /// Records held.
    pub records: u64,
    /// Connected peers.
    pub peers: u64,
}

/// How many days the charts show.
pub const CHART_DAYS: u64 = 7;
const DAY_MS: u64 = 24 * 3600 * 1000;

/// The key figures as short French (or English) lines.
pub fn figure_lines(figures: &KeyFigures, l: Lang) -> Vec<String> {
    let peers = l.pick_string(
        format!(
            "Pairs connectés : {} en direct, {} par un relais.",
            figures.peers_direct, figures.peers_relayed
        ),
        format!(
            "Connected peers: {} direct, {} through a relay.",
            figures.peers_direct, figures.peers_relayed
        ),
    );
    let sync = match figures.last_sync_secs {
        None => l
            .pick(
                "Aucune synchronisation réussie depuis le démarrage.",
                "No successful sync since start.",
            )
            .to_string(),
        Some(secs) => l.pick_string(
            format!(
                "Dernière synchronisation réussie : il y a {}.",
                ago(secs, l)
            ),
            format!("Last successful sync: {} ago.", ago(secs, l)),
        ),
    };
    let store = figures.store_bytes.map_or_else(
        || l.pick("inconnue", "unknown").to_string(),
        |bytes| size(bytes, l),
    );
    let sizes = l.pick_string(
        format!(
            "Taille des enregistrements : {store} · photos : {} ({}).",
            figures.photos,
            size(figures.photo_bytes, l)
        ),
        format!(
            "Records on disk: {store} · photos: {} ({}).",
            figures.photos,
            size(figures.photo_bytes, l)
        ),
    );
    let mail = l.pick_string(
        format!("Courriels en attente d'envoi : {}.", figures.mail_queue),
        format!("E-mails waiting to be sent: {}.", figures.mail_queue),
    );
    vec![peers, sync, sizes, mail]
}

fn ago(secs: u64, l: Lang) -> String {
    match secs {
        0..=59 => l.pick_string(format!("{secs} s"), format!("{secs} s")),
        60..=3599 => format!("{} min", secs / 60),
        3600..=86_399 => format!("{} h", secs / 3600),
        _ => l.pick_string(
            format!("{} jours", secs / 86_400),
            format!("{} days", secs / 86_400),
        ),
    }
}

/// A size in Mo (MB) with one decimal under 10, or ko (kB) under 1 MB.
pub fn size(bytes: u64, l: Lang) -> String {
    let (kilo, mega) = (l.pick("ko", "kB"), l.pick("Mo", "MB"));
    let mib = bytes as f64 / 1_048_576.0;
    let text = if bytes < 1_048_576 {
        format!("{} {kilo}", bytes.div_ceil(1024))
    } else if mib < 10.0 {
        format!("{mib:.1} {mega}")
    } else {
        format!("{} {mega}", mib.round() as u64)
    };
    match l {
        Lang::Fr => text.replace('.', ","),
        Lang::En => text,
    }
}

/// One series to draw.
pub struct Series<'a> {
    /// The element id prefix (unique on the page).
    pub id: &'a str,
    /// The chart's title, such as "Enregistrements".
    pub title: &'a str,
    /// (time, value), oldest first.
    pub points: Vec<(Timestamp, u64)>,
}

const WIDTH: u64 = 320;
const HEIGHT: u64 = 120;
const LEFT: u64 = 44;
const RIGHT: u64 = 8;
const TOP: u64 = 10;
const BOTTOM: u64 = 22;

/// The chart of `series` over the [`CHART_DAYS`] days before `now`, as SVG markup, and its
/// text equivalent. Samples outside the window are left out.
pub fn chart(series: &Series<'_>, now: Timestamp, l: Lang) -> (String, String) {
    let from = now.0.saturating_sub(CHART_DAYS * DAY_MS);
    let points: Vec<(u64, u64)> = series
        .points
        .iter()
        .filter(|(at, _)| at.0 >= from && at.0 <= now.0)
        .map(|(at, value)| (at.0, *value))
        .collect();
    let summary = summary(series.title, &points, l);
    let (low, high) = bounds(&points);
    let x = |at: u64| LEFT + (at - from) * (WIDTH - LEFT - RIGHT) / (now.0 - from).max(1);
    let y = |value: u64| {
        let plot = HEIGHT - TOP - BOTTOM;
        HEIGHT - BOTTOM - (value - low) * plot / (high - low).max(1)
    };
    let id = series.id;
    let mut svg = format!(
        "<svg class=\"chart\" viewBox=\"0 0 {WIDTH} {HEIGHT}\" role=\"img\" \
         aria-labelledby=\"{id}-titre {id}-desc\" xmlns=\"http://www.w3.org/2000/svg\">\
         <title id=\"{id}-titre\">{}</title><desc id=\"{id}-desc\">{}</desc>",
        escape(series.title),
        escape(&summary)
    );
    let baseline = HEIGHT - BOTTOM;
    svg.push_str(&format!(
        "<line x1=\"{LEFT}\" y1=\"{baseline}\" x2=\"{}\" y2=\"{baseline}\" stroke=\"#888\" stroke-width=\"1\"/>\
         <line x1=\"{LEFT}\" y1=\"{TOP}\" x2=\"{LEFT}\" y2=\"{baseline}\" stroke=\"#888\" stroke-width=\"1\"/>",
        WIDTH - RIGHT
    ));
    for (value, at_y) in [(high, TOP + 8), (low, baseline)] {
        svg.push_str(&format!(
            "<text x=\"{}\" y=\"{at_y}\" text-anchor=\"end\" font-size=\"10\" fill=\"currentColor\">{value}</text>",
            LEFT - 4
        ));
    }
    for (label, at_x, anchor) in [
        (date(Timestamp(from), l), LEFT, "start"),
        (
            l.pick("aujourd'hui", "today").to_string(),
            WIDTH - RIGHT,
            "end",
        ),
    ] {
        svg.push_str(&format!(
            "<text x=\"{at_x}\" y=\"{}\" text-anchor=\"{anchor}\" font-size=\"10\" fill=\"currentColor\">{}</text>",
            HEIGHT - 6,
            escape(&label)
        ));
    }
    match points.as_slice() {
        [] => {}
        [(at, value)] => svg.push_str(&format!(
            "<circle cx=\"{}\" cy=\"{}\" r=\"3\" fill=\"#1d5fa8\"/>",
            x(*at),
            y(*value)
        )),
        many => {
            let line: Vec<String> = many
                .iter()
                .map(|(at, value)| format!("{},{}", x(*at), y(*value)))
                .collect();
            svg.push_str(&format!(
                "<polyline points=\"{}\" fill=\"none\" stroke=\"#1d5fa8\" stroke-width=\"2\"/>",
                line.join(" ")
            ));
        }
    }
    svg.push_str("</svg>");
    (svg, summary)
}

/// The lowest and highest values, with room: a flat series gets a band around it.
fn bounds(points: &[(u64, u64)]) -> (u64, u64) {
    let (low, high) = bounds_of(points);
    if high == low {
        (low.saturating_sub(1), high + 1)
    } else {
        (low, high)
    }
}

fn summary(title: &str, points: &[(u64, u64)], l: Lang) -> String {
    match (points.first(), points.last()) {
        (Some((first_at, first)), Some((_, last))) if points.len() > 1 => {
            let (low, high) = bounds_of(points);
            let day = date(Timestamp(*first_at), l);
            l.pick_string(
                format!("{title} : {first} le {day}, {last} maintenant (de {low} à {high} sur la période)."),
                format!("{title}: {first} on {day}, {last} now (from {low} to {high} over the period)."),
            )
        }
        (Some((at, value)), _) => l.pick_string(
            format!("{title} : {value} le {}.", date(Timestamp(*at), l)),
            format!("{title}: {value} on {}.", date(Timestamp(*at), l)),
        ),
        _ => l.pick_string(
            format!("{title} : pas encore de mesure."),
            format!("{title}: no sample yet."),
        ),
    }
}

fn bounds_of(points: &[(u64, u64)]) -> (u64, u64) {
    let low = points.iter().map(|(_, v)| *v).min().unwrap_or(0);
    let high = points.iter().map(|(_, v)| *v).max().unwrap_or(0);
    (low, high)
}

#[cfg(test)]
mod tests {
    use super::*;

    const NOW: u64 = 1_796_000_000_000;

    fn series(points: Vec<(Timestamp, u64)>) -> Series<'static> {
        Series {
            id: "records",
            title: "Enregistrements",
            points,
        }
    }

    #[test]
    fn a_series_is_a_polyline_inside_the_frame_with_its_figures_in_words() {
        let points = vec![
            (Timestamp(NOW - 9 * DAY_MS), 5),
            (Timestamp(NOW - 6 * DAY_MS), 100),
            (Timestamp(NOW - 3 * DAY_MS), 180),
            (Timestamp(NOW), 250),
        ];
        let (svg, text) = chart(&series(points), Timestamp(NOW), Lang::Fr);
        assert!(svg.starts_with("<svg") && svg.ends_with("</svg>"), "{svg}");
        assert!(svg.contains("role=\"img\""));
        assert!(svg.contains("<title id=\"records-titre\">Enregistrements</title>"));
        let line = svg
            .split("points=\"")
            .nth(1)
            .unwrap()
            .split('"')
            .next()
            .unwrap();
        let coordinates: Vec<(u64, u64)> = line
            .split(' ')
            .map(|pair| {
                let (x, y) = pair.split_once(',').unwrap();
                (x.parse().unwrap(), y.parse().unwrap())
            })
            .collect();
        assert_eq!(coordinates.len(), 3, "the sample of 9 days ago is left out");
        assert_eq!(
            coordinates[2],
            (WIDTH - RIGHT, TOP),
            "the latest is top right"
        );
        assert_eq!(
            coordinates[0].1,
            HEIGHT - BOTTOM,
            "the lowest is on the baseline"
        );
        assert!(coordinates
            .windows(2)
            .all(|w| w[0].0 < w[1].0 && w[0].1 > w[1].1));
        assert!(
            text.contains("100 le ") && text.contains("250 maintenant"),
            "{text}"
        );
        assert!(
            svg.contains(&escape(&text)),
            "the description is the same text"
        );
    }

    #[test]
    fn one_sample_is_a_dot_and_none_says_so() {
        let (svg, text) = chart(&series(vec![(Timestamp(NOW), 3)]), Timestamp(NOW), Lang::Fr);
        assert!(
            svg.contains("<circle") && !svg.contains("<polyline"),
            "{svg}"
        );
        assert!(text.contains("Enregistrements : 3 le "), "{text}");
        let (svg, text) = chart(&series(Vec::new()), Timestamp(NOW), Lang::En);
        assert!(!svg.contains("<circle") && !svg.contains("<polyline"));
        assert_eq!(text, "Enregistrements: no sample yet.");
    }

    #[test]
    fn sizes_and_delays_read_naturally() {
        assert_eq!(size(0, Lang::Fr), "0 ko");
        assert_eq!(size(1500, Lang::Fr), "2 ko");
        assert_eq!(size(3 * 1_048_576 / 2, Lang::Fr), "1,5 Mo");
        assert_eq!(size(3 * 1_048_576 / 2, Lang::En), "1.5 MB");
        assert_eq!(size(250 * 1_048_576, Lang::Fr), "250 Mo");
        let figures = KeyFigures {
            peers_direct: 2,
            peers_relayed: 1,
            last_sync_secs: Some(125),
            store_bytes: Some(12 * 1_048_576),
            photos: 4,
            photo_bytes: 800 * 1024,
            mail_queue: 3,
        };
        let lines = figure_lines(&figures, Lang::Fr);
        assert_eq!(lines[0], "Pairs connectés : 2 en direct, 1 par un relais.");
        assert_eq!(lines[1], "Dernière synchronisation réussie : il y a 2 min.");
        assert_eq!(
            lines[2],
            "Taille des enregistrements : 12 Mo · photos : 4 (800 ko)."
        );
        assert_eq!(lines[3], "Courriels en attente d'envoi : 3.");
        let never = KeyFigures::default();
        assert!(figure_lines(&never, Lang::Fr)[1].starts_with("Aucune synchronisation"));
    }
}
