//! Whether a charter can work: a charter may decode and still found a network nobody can
//! ever join (fewer founders than the sponsors a candidate needs) or where no key can be
//! recovered. [`check`] lists every such problem, with the numbers, before anyone signs.

use crate::fields::check_text;
use crate::kinds::network::bounds::{self, Bound};
use crate::kinds::Charter;
use thiserror::Error;

/// The numbers of a charter that decide whether it can work, without its keys: what a
/// founding team plans before its founders have keys.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct CharterShape {
    /// How many founders.
    pub founders: usize,
    /// How many council members.
    pub council: usize,
    /// Council signatures an appointment needs.
    pub council_threshold: u64,
    /// Sponsorships a candidate needs by default.
    pub sponsors_required: u64,
    /// Sponsorships a member may have counted at once.
    pub sponsor_quota: u64,
    /// Quota lost per strike.
    pub strike_penalty: u64,
    /// Probation's length, in ms.
    pub probation_grace_ms: u64,
    /// The time to answer a transaction, in ms.
    pub answer_deadline_ms: u64,
    /// Clock skew allowed, in ms.
    pub max_clock_skew_ms: u64,
    /// Sponsor co-signatures a key recovery needs.
    pub recovery_threshold: u64,
    /// Bumps one node may sign per day.
    pub bumps_per_node_per_day: u64,
}

impl CharterShape {
    /// The shape of a charter.
    pub fn of(charter: &Charter) -> CharterShape {
        CharterShape {
            founders: charter.founders.len(),
            council: charter.council.len(),
            council_threshold: charter.council_threshold,
            sponsors_required: charter.sponsors_required,
            sponsor_quota: charter.sponsor_quota,
            strike_penalty: charter.strike_penalty,
            probation_grace_ms: charter.probation_grace_ms,
            answer_deadline_ms: charter.answer_deadline_ms,
            max_clock_skew_ms: charter.max_clock_skew_ms,
            recovery_threshold: charter.recovery_threshold,
            bumps_per_node_per_day: charter.bumps_per_node_per_day,
        }
    }
}

/// One reason a charter cannot work. The text names the numbers.
#[derive(Clone, Debug, Error, PartialEq, Eq)]
pub enum Unviable {
    /// A number is outside the range the protocol allows.
    #[error("{field} is {value}, but it must be between {min} and {max}")]
    OutOfRange {
        /// The field.
        field: &'static str,
        /// Its value.
        value: u64,
        /// The smallest allowed.
        min: u64,
        /// The largest allowed.
        max: u64,
    },
    /// Fewer founders than the sponsors the first candidate needs.
    #[error(
        "the charter has {founders} founder(s) but sponsors_required is {sponsors_required}: \
         nobody could ever be admitted (the first candidates can only be sponsored by the \
         founders); add founders or lower sponsors_required"
    )]
    TooFewFounders {
        /// Founders.
        founders: usize,
        /// Sponsors a candidate needs.
        sponsors_required: u64,
    },
    /// More founders than a charter may list.
    #[error("the charter has {founders} founders, but at most {max} are allowed")]
    TooManyFounders {
        /// Founders.
        founders: usize,
        /// The limit.
        max: usize,
    },
    /// No council.
    #[error("the council is empty: at least one founder must sit on it")]
    NoCouncil,
    /// More council members than a charter may list.
    #[error("the council has {council} members, but at most {max} are allowed")]
    CouncilTooLarge {
        /// Council members.
        council: usize,
        /// The limit.
        max: usize,
    },
    /// The council can never gather enough signatures.
    #[error(
        "council_threshold is {council_threshold}, but the council has only {council} \
         member(s) (and it must be at least 1): no moderator could ever be appointed"
    )]
    CouncilThreshold {
        /// Signatures needed.
        council_threshold: u64,
        /// Council members.
        council: usize,
    },
    /// A member admitted with the required sponsors could not recover a lost key.
    #[error(
        "recovery_threshold is {recovery_threshold}, above sponsors_required \
         ({sponsors_required}): a member admitted with the required sponsors could never \
         recover a lost key"
    )]
    RecoveryUnreachable {
        /// Co-signatures a recovery needs.
        recovery_threshold: u64,
        /// Sponsors a candidate needs.
        sponsors_required: u64,
    },
    /// Every member can sponsor fewer people than each newcomer needs: the network stops
    /// growing.
    #[error(
        "sponsor_quota is {sponsor_quota}, below sponsors_required ({sponsors_required}): \
         each member could sponsor fewer people than each newcomer needs, so the network \
         could never grow beyond a few members"
    )]
    QuotaBelowRequired {
        /// Sponsorships a member may have counted at once.
        sponsor_quota: u64,
        /// Sponsors a candidate needs.
        sponsors_required: u64,
    },
    /// The name or the rules text is empty, too long or holds control characters.
    #[error("the {field} must be 1 to {max} bytes of text without control characters")]
    BadText {
        /// `name` or `rules`.
        field: &'static str,
        /// The limit in bytes.
        max: usize,
    },
}

fn range(bound: Bound, value: u64, problems: &mut Vec<Unviable>) {
    if !bound.contains(value) {
        problems.push(Unviable::OutOfRange {
            field: bound.field,
            value,
            min: bound.min,
            max: bound.max,
        });
    }
}

/// Every reason a charter of this shape could not work; empty when it can.
pub fn check_shape(shape: &CharterShape) -> Vec<Unviable> {
    let mut problems = Vec::new();
    range(
        bounds::SPONSORS_REQUIRED,
        shape.sponsors_required,
        &mut problems,
    );
    range(bounds::SPONSOR_QUOTA, shape.sponsor_quota, &mut problems);
    range(bounds::STRIKE_PENALTY, shape.strike_penalty, &mut problems);
    range(
        bounds::PROBATION_GRACE_MS,
        shape.probation_grace_ms,
        &mut problems,
    );
    range(
        bounds::ANSWER_DEADLINE_MS,
        shape.answer_deadline_ms,
        &mut problems,
    );
    range(
        bounds::MAX_CLOCK_SKEW_MS,
        shape.max_clock_skew_ms,
        &mut problems,
    );
    range(
        bounds::RECOVERY_THRESHOLD,
        shape.recovery_threshold,
        &mut problems,
    );
    range(
        bounds::BUMPS_PER_NODE_PER_DAY,
        shape.bumps_per_node_per_day,
        &mut problems,
    );
    if (shape.founders as u64) < shape.sponsors_required {
        problems.push(Unviable::TooFewFounders {
            founders: shape.founders,
            sponsors_required: shape.sponsors_required,
        });
    }
    if shape.founders > bounds::MAX_FOUNDERS {
        problems.push(Unviable::TooManyFounders {
            founders: shape.founders,
            max: bounds::MAX_FOUNDERS,
        });
    }
    check_council(shape, &mut problems);
    if shape.recovery_threshold > shape.sponsors_required {
        problems.push(Unviable::RecoveryUnreachable {
            recovery_threshold: shape.recovery_threshold,
            sponsors_required: shape.sponsors_required,
        });
    }
    if shape.sponsor_quota < shape.sponsors_required {
        problems.push(Unviable::QuotaBelowRequired {
            sponsor_quota: shape.sponsor_quota,
            sponsors_required: shape.sponsors_required,
        });
    }
    problems
}

fn check_council(shape: &CharterShape, problems: &mut Vec<Unviable>) {
    if shape.council == 0 {
        problems.push(Unviable::NoCouncil);
    }
    if shape.council > bounds::MAX_COUNCIL {
        problems.push(Unviable::CouncilTooLarge {
            council: shape.council,
            max: bounds::MAX_COUNCIL,
        });
    }
    let threshold_reachable =
        shape.council_threshold >= 1 && shape.council_threshold <= shape.council as u64;
    if shape.council > 0 && !threshold_reachable {
        problems.push(Unviable::CouncilThreshold {
            council_threshold: shape.council_threshold,
            council: shape.council,
        });
    }
}

/// Every reason this charter could not work: its shape, its name and its rules text.
pub fn check(charter: &Charter) -> Vec<Unviable> {
    let mut problems = check_shape(&CharterShape::of(charter));
    if check_text("name", &charter.name, 1, bounds::NAME_MAX_BYTES).is_err()
        || charter.name.trim().is_empty()
    {
        problems.push(Unviable::BadText {
            field: "name",
            max: bounds::NAME_MAX_BYTES,
        });
    }
    if check_text("rules", &charter.rules, 1, bounds::RULES_MAX_BYTES).is_err()
        || charter.rules.trim().is_empty()
    {
        problems.push(Unviable::BadText {
            field: "rules",
            max: bounds::RULES_MAX_BYTES,
        });
    }
    problems
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::testkit;

    fn three_founders() -> Charter {
        let keys: Vec<_> = (1..=3)
            .map(|i| testkit::key(&format!("founder-{i}")))
            .collect();
        let refs: Vec<_> = keys.iter().collect();
        testkit::charter(&refs, &refs, 2)
    }

    #[test]
    fn the_default_charter_of_three_founders_is_viable() {
        assert_eq!(check(&three_founders()), vec![]);
    }

    #[test]
    fn one_founder_with_three_sponsors_required_admits_nobody() {
        let founder = testkit::key("alone");
        let charter = testkit::charter(&[&founder], &[&founder], 1);
        let problems = check(&charter);
        assert_eq!(
            problems,
            vec![Unviable::TooFewFounders {
                founders: 1,
                sponsors_required: 3
            }]
        );
        let text = problems[0].to_string();
        assert!(text.contains("1 founder(s)") && text.contains("sponsors_required is 3"));
    }

    #[test]
    fn each_unworkable_number_is_named() {
        let mut shape = CharterShape::of(&three_founders());
        shape.council_threshold = 4;
        shape.recovery_threshold = 4;
        shape.sponsor_quota = 2;
        shape.answer_deadline_ms = 60_000;
        let problems = check_shape(&shape);
        assert!(problems.contains(&Unviable::CouncilThreshold {
            council_threshold: 4,
            council: 3
        }));
        assert!(problems.contains(&Unviable::RecoveryUnreachable {
            recovery_threshold: 4,
            sponsors_required: 3
        }));
        assert!(problems.contains(&Unviable::QuotaBelowRequired {
            sponsor_quota: 2,
            sponsors_required: 3
        }));
        assert!(problems.contains(&Unviable::OutOfRange {
            field: "answer_deadline_ms",
            value: 60_000,
            min: 3_600_000,
            max: 30 * 86_400_000
        }));
        assert_eq!(problems.len(), 4, "{problems:?}");
    }

    #[test]
    fn an_empty_council_or_a_zero_threshold_is_refused() {
        let mut shape = CharterShape::of(&three_founders());
        shape.council = 0;
        assert_eq!(check_shape(&shape), vec![Unviable::NoCouncil]);
        shape.council = 3;
        shape.council_threshold = 0;
        assert_eq!(
            check_shape(&shape),
            vec![Unviable::CouncilThreshold {
                council_threshold: 0,
                council: 3
            }]
        );
    }

    #[test]
    fn blank_rules_are_refused() {
        let mut charter = three_founders();
        charter.rules = "  ".into();
        assert_eq!(
            check(&charter),
            vec![Unviable::BadText {
                field: "rules",
                max: 8000
            }]
        );
    }

    #[test]
    fn a_viable_charter_signs_and_decodes() {
        let keys: Vec<_> = (1..=5).map(|i| testkit::key(&format!("f{i}"))).collect();
        let refs: Vec<_> = keys.iter().collect();
        let mut charter = testkit::charter(&refs, &refs[..3], 2);
        charter.sponsors_required = 5;
        charter.recovery_threshold = 5;
        assert_eq!(check(&charter), vec![]);
        let record = crate::Record::sign_charter(&keys[0], charter, testkit::T0).unwrap();
        assert!(crate::Record::decode_any_network(&record.to_wire()).is_ok());
    }
}
