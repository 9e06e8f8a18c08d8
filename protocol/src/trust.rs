//! Trust paths: the shortest sponsorship paths between two members, and how many
//! independent paths join them, with a bounded search.
//!
//! The graph is undirected: one edge per sponsorship that currently supports its candidate
//! (see [`MembershipTable::sponsors`]). Definitions, stated in docs/PROTOCOL.md:
//! - *distance*: the length of a shortest path, if one of at most `max_hops` edges exists;
//! - *paths*: the first `max_paths` shortest paths in lexicographic order of their key
//!   sequences;
//! - *independent paths*: repeat "take the lexicographically first shortest path of at most
//!   `max_hops` edges that avoids every inner vertex (and the direct edge) used so far" until
//!   none is left or `max_independent` is reached; the count is the number taken. Each path
//!   found this way is vertex-disjoint from the others.

use std::collections::{HashMap as StdHashMap, HashSet as StdHashSet};
use std::hash::{BuildHasherDefault, Hasher};

use crate::ids::PublicKey;
use crate::membership::MembershipTable;

/// Hashes node indices with a multiply and a fold. The searches below spend much of their
/// time in these maps. Node indices are numbers the table assigns, not values anyone picks,
/// so the default keyed (and randomly seeded) hash buys nothing here; no result depends on a
/// map's iteration order.
#[derive(Default)]
struct NodeHasher(u64);

impl Hasher for NodeHasher {
    fn write(&mut self, bytes: &[u8]) {
        for &b in bytes {
            self.write_u32(u32::from(b));
        }
    }

    fn write_u32(&mut self, n: u32) {
        self.0 = (self.0.rotate_left(5) ^ u64::from(n)).wrapping_mul(0x9e37_79b9_7f4a_7c15);
    }

    fn finish(&self) -> u64 {
        self.0 ^ (self.0 >> 32)
    }
}

type HashMap<K, V> = StdHashMap<K, V, BuildHasherDefault<NodeHasher>>;
type HashSet<K> = StdHashSet<K, BuildHasherDefault<NodeHasher>>;

/// Bounds of a trust query.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct TrustQuery {
    /// Longest path considered, in edges.
    pub max_hops: u32,
    /// Shortest paths listed.
    pub max_paths: usize,
    /// Independent paths counted at most.
    pub max_independent: u32,
    /// Vertices one search may visit before it gives up.
    pub max_visited: usize,
}

impl Default for TrustQuery {
    fn default() -> Self {
        TrustQuery {
            max_hops: 6,
            max_paths: 3,
            max_independent: 5,
            max_visited: 200_000,
        }
    }
}

/// The answer to a trust query.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct TrustReport {
    /// Length of a shortest path, if one within the bounds exists.
    pub distance: Option<u32>,
    /// Shortest paths, each from `from` to `to` inclusive.
    pub paths: Vec<Vec<PublicKey>>,
    /// Independent paths found by the greedy rule.
    pub independent_paths: u32,
    /// Whether a search hit `max_visited`, so the answer may understate the truth.
    pub truncated: bool,
}

struct Search<'a> {
    table: &'a MembershipTable,
    query: TrustQuery,
    blocked: HashSet<u32>,
    direct_edge_blocked: bool,
    truncated: bool,
}

/// The distances and meeting structure one bidirectional search leaves behind.
struct Layers {
    from_source: HashMap<u32, u32>,
    from_target: HashMap<u32, u32>,
    distance: u32,
    source_depth: u32,
    target_depth: u32,
}

impl Search<'_> {
    fn neighbours(&self, node: u32) -> impl Iterator<Item = u32> + '_ {
        let (up, down) = self.table.support_neighbours(node);
        up.iter().chain(down.iter()).copied()
    }

    fn passable(&self, from: u32, to: u32, source: u32, target: u32) -> bool {
        let inner = |n: u32| n != source && n != target;
        if inner(to) && self.blocked.contains(&to) {
            return false;
        }
        let direct = (from == source && to == target) || (from == target && to == source);
        !(direct && self.direct_edge_blocked)
    }

    /// Level-synchronous bidirectional breadth-first search.
    fn layers(&mut self, source: u32, target: u32) -> Option<Layers> {
        let mut ds: HashMap<u32, u32> = HashMap::from_iter([(source, 0)]);
        let mut dt: HashMap<u32, u32> = HashMap::from_iter([(target, 0)]);
        let (mut fs, mut ft) = (vec![source], vec![target]);
        let (mut rs, mut rt) = (0u32, 0u32);
        while rs + rt < self.query.max_hops && !fs.is_empty() && !ft.is_empty() {
            if ds.len() + dt.len() > self.query.max_visited {
                self.truncated = true;
                return None;
            }
            let from_source_side = fs.len() <= ft.len();
            let (frontier, mine, other, depth) = if from_source_side {
                (&mut fs, &mut ds, &dt, &mut rs)
            } else {
                (&mut ft, &mut dt, &ds, &mut rt)
            };
            let mut next = Vec::new();
            let mut best: Option<u32> = None;
            for &node in frontier.iter() {
                for n in self.neighbours(node) {
                    let ok = if from_source_side {
                        self.passable(node, n, source, target)
                    } else {
                        self.passable(n, node, source, target)
                    };
                    if !ok || mine.contains_key(&n) {
                        continue;
                    }
                    mine.insert(n, *depth + 1);
                    next.push(n);
                    if let Some(d) = other.get(&n) {
                        let total = *depth + 1 + d;
                        best = Some(best.map_or(total, |b| b.min(total)));
                    }
                }
            }
            *depth += 1;
            *frontier = next;
            if let Some(distance) = best.filter(|d| *d <= self.query.max_hops) {
                return Some(Layers {
                    from_source: ds,
                    from_target: dt,
                    distance,
                    source_depth: rs,
                    target_depth: rt,
                });
            }
        }
        None
    }

    /// Nodes with known source distance that lead to a meeting vertex, and likewise for the
    /// target side.
    fn on_path_sets(&self, l: &Layers, source: u32, target: u32) -> (HashSet<u32>, HashSet<u32>) {
        let meeting: Vec<u32> = l
            .from_source
            .iter()
            .filter(|(n, d)| l.from_target.get(n).is_some_and(|t| **d + t == l.distance))
            .map(|(n, _)| *n)
            .collect();
        let back = |start: &[u32], dist: &HashMap<u32, u32>, toward: bool| {
            let mut set: HashSet<u32> = start.iter().copied().collect();
            let mut frontier: Vec<u32> = start.to_vec();
            while let Some(node) = frontier.pop() {
                let d = dist[&node];
                for n in self.neighbours(node) {
                    let ok = if toward {
                        self.passable(n, node, source, target)
                    } else {
                        self.passable(node, n, source, target)
                    };
                    if ok && d > 0 && dist.get(&n) == Some(&(d - 1)) && set.insert(n) {
                        frontier.push(n);
                    }
                }
            }
            set
        };
        (
            back(&meeting, &l.from_source, true),
            back(&meeting, &l.from_target, false),
        )
    }

    /// The first `limit` shortest paths in lexicographic key order.
    fn shortest_paths(&self, l: &Layers, source: u32, target: u32, limit: usize) -> Vec<Vec<u32>> {
        let (reach_s, reach_t) = self.on_path_sets(l, source, target);
        let on_path = |node: u32, position: u32| -> bool {
            if position <= l.source_depth
                && l.from_source.get(&node) == Some(&position)
                && reach_s.contains(&node)
            {
                return l.distance - position > l.target_depth
                    || (reach_t.contains(&node)
                        && l.from_target.get(&node) == Some(&(l.distance - position)));
            }
            position > l.source_depth
                && l.from_target.get(&node) == Some(&(l.distance - position))
                && reach_t.contains(&node)
        };
        let mut paths = Vec::new();
        let mut stack = vec![source];
        self.extend(&mut stack, target, l.distance, &on_path, limit, &mut paths);
        paths
    }

    fn extend(
        &self,
        stack: &mut Vec<u32>,
        target: u32,
        distance: u32,
        on_path: &dyn Fn(u32, u32) -> bool,
        limit: usize,
        out: &mut Vec<Vec<u32>>,
    ) {
        if out.len() >= limit {
            return;
        }
        let node = *stack.last().unwrap_or(&target);
        let position = stack.len() as u32;
        if position - 1 == distance {
            if node == target {
                out.push(stack.clone());
            }
            return;
        }
        let mut next: Vec<u32> = self
            .neighbours(node)
            .filter(|&n| self.passable(node, n, stack[0], target) && on_path(n, position))
            .collect();
        next.sort_by_key(|&n| self.table.key_of(n));
        next.dedup();
        for n in next {
            stack.push(n);
            self.extend(stack, target, distance, on_path, limit, out);
            stack.pop();
            if out.len() >= limit {
                return;
            }
        }
    }
}

/// Answers a trust query between two keys (resolved to their identities).
pub fn trust_paths(
    table: &MembershipTable,
    from: &PublicKey,
    to: &PublicKey,
    query: TrustQuery,
) -> TrustReport {
    let (Some(source), Some(target)) = (table.node(from), table.node(to)) else {
        return TrustReport::default();
    };
    if source == target {
        return TrustReport {
            distance: Some(0),
            paths: vec![vec![table.key_of(source)]],
            ..TrustReport::default()
        };
    }
    let mut search = Search {
        table,
        query,
        blocked: HashSet::default(),
        direct_edge_blocked: false,
        truncated: false,
    };
    let Some(first) = search.layers(source, target) else {
        return TrustReport {
            truncated: search.truncated,
            ..TrustReport::default()
        };
    };
    let paths = search.shortest_paths(&first, source, target, query.max_paths.max(1));
    let mut report = TrustReport {
        distance: Some(first.distance),
        paths: paths
            .iter()
            .take(query.max_paths)
            .map(|p| p.iter().map(|&n| table.key_of(n)).collect())
            .collect(),
        independent_paths: 0,
        truncated: false,
    };
    let mut current = paths
        .into_iter()
        .next()
        .filter(|_| query.max_independent > 0);
    while let Some(path) = current {
        report.independent_paths += 1;
        if report.independent_paths >= query.max_independent {
            break;
        }
        if path.len() == 2 {
            search.direct_edge_blocked = true;
        }
        search.blocked.extend(&path[1..path.len() - 1]);
        current = search.layers(source, target).and_then(|l| {
            search
                .shortest_paths(&l, source, target, 1)
                .into_iter()
                .next()
        });
    }
    report.truncated = search.truncated;
    report
}
