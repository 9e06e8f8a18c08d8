//! The trust paths between the viewer and a member, drawn as a small layered graph: the
//! viewer on top, the member at the bottom, and on each row the people at that many links
//! from the viewer on one of the shortest paths, with a line for each sponsorship link the
//! paths use. The picture is `role="img"` with a title and a description that say the same
//! in words.

use std::collections::BTreeSet;
use std::fmt::Write;

use super::escape;
use crate::session::Lang;

/// Width of the drawing, in its own units (drawn at this size on a phone).
const WIDTH: f64 = 340.0;
/// Height of one row.
const ROW: f64 = 62.0;
/// People drawn on one row at most; the others are counted.
const PER_ROW: usize = 4;
/// Longest name drawn, in characters.
const NAME_CHARS: usize = 14;

/// The graph of `paths` (each from the viewer to the member, by display names, all of the
/// same length), or `None` when there is no path.
pub fn svg(paths: &[Vec<String>], l: Lang) -> Option<String> {
    let length = paths.first()?.len();
    if length < 2 || paths.iter().any(|p| p.len() != length) {
        return None;
    }
    let rows: Vec<Vec<&str>> = (0..length)
        .map(|depth| {
            let mut names: Vec<&str> = Vec::new();
            for path in paths {
                if !names.contains(&path[depth].as_str()) {
                    names.push(&path[depth]);
                }
            }
            names
        })
        .collect();
    let height = ROW * length as f64 + 8.0;
    let title = l.pick("Comment vous êtes reliés", "How you are connected");
    let mut out = String::new();
    let _ = write!(
        out,
        "<svg class=\"trust-graph\" viewBox=\"0 0 {WIDTH} {height}\" role=\"img\" aria-labelledby=\"graphe-titre graphe-desc\" xmlns=\"http://www.w3.org/2000/svg\"><title id=\"graphe-titre\">{title}</title><desc id=\"graphe-desc\">{}</desc>",
        escape(&describe(paths, l))
    );
    let mut edges = BTreeSet::new();
    for path in paths {
        for depth in 0..length - 1 {
            let from = position(&rows, depth, &path[depth]);
            let to = position(&rows, depth + 1, &path[depth + 1]);
            if let (Some(from), Some(to)) = (from, to) {
                edges.insert((depth, from, to));
            }
        }
    }
    for (depth, from, to) in edges {
        let (x1, y1) = (column_x(rows[depth].len(), from), row_y(depth));
        let (x2, y2) = (column_x(rows[depth + 1].len(), to), row_y(depth + 1));
        let _ = write!(
            out,
            "<line x1=\"{x1:.1}\" y1=\"{y1:.1}\" x2=\"{x2:.1}\" y2=\"{y2:.1}\" class=\"edge\"/>"
        );
    }
    for (depth, names) in rows.iter().enumerate() {
        let shown = names.len().min(PER_ROW);
        for (i, name) in names.iter().take(shown).enumerate() {
            let (x, y) = (column_x(names.len(), i), row_y(depth));
            let end = depth == 0 || depth + 1 == length;
            let _ = write!(
                out,
                "<circle cx=\"{x:.1}\" cy=\"{y:.1}\" r=\"9\" class=\"{}\"/><text x=\"{x:.1}\" y=\"{:.1}\" text-anchor=\"middle\">{}</text>",
                if end { "person end" } else { "person" },
                y + 25.0,
                escape(&short(name))
            );
        }
        if names.len() > PER_ROW {
            let _ = write!(
                out,
                "<text x=\"{:.1}\" y=\"{:.1}\" text-anchor=\"end\">+{}</text>",
                WIDTH - 4.0,
                row_y(depth) + 4.0,
                names.len() - PER_ROW
            );
        }
    }
    out.push_str("</svg>");
    Some(out)
}

/// The paths in words, for the description: "vous → Hélène B. → Marie L. ; vous → …".
fn describe(paths: &[Vec<String>], l: Lang) -> String {
    let count = paths.len();
    let lines: Vec<String> = paths.iter().map(|p| p.join(" → ")).collect();
    let intro = match count {
        1 => l.pick("Un chemin :", "One path:").to_string(),
        n => l.pick_string(format!("{n} chemins :"), format!("{n} paths:")),
    };
    format!("{intro} {}", lines.join(" ; "))
}

fn position(rows: &[Vec<&str>], depth: usize, name: &str) -> Option<usize> {
    rows[depth]
        .iter()
        .position(|n| *n == name)
        .filter(|i| *i < PER_ROW)
}

fn column_x(count: usize, index: usize) -> f64 {
    let count = count.min(PER_ROW);
    WIDTH * (index as f64 + 0.5) / count as f64
}

fn row_y(depth: usize) -> f64 {
    14.0 + ROW * depth as f64
}

fn short(name: &str) -> String {
    if name.chars().count() <= NAME_CHARS {
        return name.to_string();
    }
    let mut cut: String = name.chars().take(NAME_CHARS - 1).collect();
    cut.push('…');
    cut
}

#[cfg(test)]
mod tests {
    use super::*;

    fn path(names: &[&str]) -> Vec<String> {
        names.iter().map(|n| n.to_string()).collect()
    }

    #[test]
    fn two_paths_share_their_ends_and_each_link_is_drawn_once() {
        let paths = [
            path(&["vous", "Hélène B.", "Camille R."]),
            path(&["vous", "Marie <L.>", "Camille R."]),
        ];
        let svg = svg(&paths, Lang::Fr).expect("a picture");
        assert_eq!(
            svg.matches("<circle").count(),
            4,
            "vous, two sponsors, Camille"
        );
        assert_eq!(svg.matches("<line").count(), 4);
        assert!(svg.contains("role=\"img\""));
        assert!(svg.contains(
            "<desc id=\"graphe-desc\">2 chemins : vous → Hélène B. → Camille R. ; vous → Marie &lt;L.&gt; → Camille R.</desc>"
        ));
        assert!(!svg.contains("<L.>"), "names are escaped");
    }

    #[test]
    fn long_names_are_shortened_and_crowded_rows_counted() {
        let paths: Vec<Vec<String>> = (0..6)
            .map(|i| path(&["vous", &format!("Bernadette-Marie numéro {i}"), "Jo"]))
            .collect();
        let svg = svg(&paths, Lang::Fr).expect("a picture");
        assert!(svg.contains(">Bernadette-Ma…</text>"));
        assert!(svg.contains(">+2</text>"));
        assert_eq!(svg.matches("<circle").count(), 2 + PER_ROW);
    }

    #[test]
    fn no_path_or_a_lone_point_draws_nothing() {
        assert_eq!(svg(&[], Lang::Fr), None);
        assert_eq!(svg(&[path(&["vous"])], Lang::Fr), None);
        assert_eq!(
            svg(&[path(&["a", "b"]), path(&["a", "b", "c"])], Lang::Fr),
            None
        );
    }
}
