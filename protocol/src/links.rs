//! Keys linked by the key bindings a record names in its refs: what "one person's keys"
//! means to acceptance and erasure (docs/PROTOCOL.md, 8.6 "Linked keys").
//!
//! Acceptance may not ask which identity a key belongs to in the whole record set: a
//! binding that arrives later, but was created earlier, can change that answer (section
//! 9.1.2 applies bindings in time order). It asks instead whether two keys are joined by the
//! bindings the record itself references, which every node that accepts the record holds.

use crate::ids::{PublicKey, RecordId};
use crate::kinds::Body;
use crate::record::Record;

/// The (old key, new key) a binding record joins, if it is a KeyRotation or KeyRecovery with
/// its body. Binding bodies are never erased.
pub fn binding_keys(record: &Record) -> Option<(PublicKey, PublicKey)> {
    match record.body() {
        Some(Body::KeyRotation(k)) => Some((record.header().author, k.new_key)),
        Some(Body::KeyRecovery(k)) => Some((k.old_key, record.header().author)),
        _ => None,
    }
}

/// The keys an erasure covers (docs/PROTOCOL.md 8.5): its author and every key linked to it
/// by the bindings the erasure references. `held` reads a held record; the erasure was
/// accepted only once all its refs were held.
pub fn erasure_covers(
    erasure: &Record,
    held: impl Fn(&RecordId) -> Option<Record>,
) -> Vec<PublicKey> {
    let bindings: Vec<Record> = erasure.header().refs.iter().filter_map(held).collect();
    Links::from_bindings(&bindings).class_of(&erasure.header().author)
}

/// An undirected graph over keys, one edge per referenced binding.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Links {
    edges: Vec<(PublicKey, PublicKey)>,
}

impl Links {
    /// The links of these binding records; other records are ignored.
    pub fn from_bindings<'a>(records: impl IntoIterator<Item = &'a Record>) -> Links {
        Links {
            edges: records.into_iter().filter_map(binding_keys).collect(),
        }
    }

    /// Whether `a` and `b` are equal or joined through the bindings.
    pub fn linked(&self, a: &PublicKey, b: &PublicKey) -> bool {
        a == b || self.class_of(a).contains(b)
    }

    /// `key` and every key joined to it, ascending.
    pub fn class_of(&self, key: &PublicKey) -> Vec<PublicKey> {
        let mut class = vec![*key];
        let mut grew = true;
        while grew {
            grew = false;
            for (old, new) in &self.edges {
                for (from, to) in [(old, new), (new, old)] {
                    if class.contains(from) && !class.contains(to) {
                        class.push(*to);
                        grew = true;
                    }
                }
            }
        }
        class.sort();
        class
    }

    /// The smallest key of `key`'s class: two keys are linked iff their representatives
    /// are equal.
    pub fn representative(&self, key: &PublicKey) -> PublicKey {
        self.class_of(key)[0]
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::ids::Timestamp;
    use crate::testkit;

    #[test]
    fn keys_are_linked_through_a_chain_of_bindings_in_either_direction() {
        let (a, b, c, d) = (
            testkit::key("links-a"),
            testkit::key("links-b"),
            testkit::key("links-c"),
            testkit::key("links-d"),
        );
        let signer = testkit::Signer::new(testkit::charter(&[&a], &[&a], 1));
        let ab = signer.rotate(&a, &b, Timestamp(10));
        let bc = signer.rotate(&b, &c, Timestamp(20));
        let links = Links::from_bindings([&ab, &bc]);
        assert!(links.linked(&a.public_key(), &c.public_key()));
        assert!(links.linked(&c.public_key(), &a.public_key()));
        assert!(!links.linked(&a.public_key(), &d.public_key()));
        assert_eq!(links.class_of(&b.public_key()).len(), 3);
        assert!(!Links::from_bindings([&ab]).linked(&a.public_key(), &c.public_key()));
    }
}
