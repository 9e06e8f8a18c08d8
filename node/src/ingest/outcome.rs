//! The one classification of what became of a submitted record: its stable code
//! (docs/API.md), its HTTP status, and the verdict reported to gossipsub, which also says
//! whether the sender is at fault. The API, the website, gossip, sync and the metrics read
//! it here; nothing else maps outcomes.

use axum::http::StatusCode;
use maillon_protocol::state::ApplyError;

use super::pipeline::{IngestError, Submitted};
use crate::engine::standing::NodePolicyRefusal;
use crate::store::StoreError;

/// What gossipsub is told about a message.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum GossipVerdict {
    /// Stored or already held: relayed on.
    Accept,
    /// Invalid whoever sends it, so the sender is at fault: penalised.
    Reject,
    /// Neither relayed nor penalised: parked, refused for now, or this node's own limits.
    Ignore,
}

/// An outcome's classification.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Class {
    /// The stable code: `stored`, `duplicate`, `parked`, or the refusal's.
    pub code: &'static str,
    /// The HTTP status the API answers with.
    pub status: StatusCode,
    /// The gossip verdict.
    pub verdict: GossipVerdict,
}

/// The classification of an outcome.
pub fn classify(outcome: &Result<Submitted, IngestError>) -> Class {
    match outcome {
        Ok(submitted) => submitted.class(),
        Err(error) => error.class(),
    }
}

impl Submitted {
    /// 201 `stored`, 200 `duplicate` (both relayed on), 202 `parked` (not relayed yet).
    pub fn class(&self) -> Class {
        let (code, status, verdict) = match self {
            Submitted::Stored { .. } => ("stored", StatusCode::CREATED, GossipVerdict::Accept),
            Submitted::Duplicate(_) => ("duplicate", StatusCode::OK, GossipVerdict::Accept),
            Submitted::Parked { .. } => ("parked", StatusCode::ACCEPTED, GossipVerdict::Ignore),
        };
        Class {
            code,
            status,
            verdict,
        }
    }
}

impl IngestError {
    /// The refusal's classification.
    pub fn class(&self) -> Class {
        use GossipVerdict::{Ignore, Reject};
        let (status, verdict) = match self {
            IngestError::Refused(refusal) => match refusal {
                ApplyError::Decode(_) | ApplyError::Signature(_) => {
                    (StatusCode::BAD_REQUEST, Reject)
                }
                ApplyError::Invalid(invalid) if invalid.is_permanent() => {
                    (StatusCode::UNPROCESSABLE_ENTITY, Reject)
                }
                ApplyError::Invalid(_) => (StatusCode::CONFLICT, Ignore),
            },
            IngestError::NotInGoodStanding(_)
            | IngestError::NodePolicy(NodePolicyRefusal::Suspended(_)) => {
                (StatusCode::FORBIDDEN, Ignore)
            }
            IngestError::NodePolicy(
                NodePolicyRefusal::Limited(_) | NodePolicyRefusal::IntroductionQuota(..),
            ) => (StatusCode::TOO_MANY_REQUESTS, Ignore),
            IngestError::TooLargeToPark => (StatusCode::SERVICE_UNAVAILABLE, Ignore),
            IngestError::Store(store) => (store_status(store), Ignore),
        };
        Class {
            code: self.code(),
            status,
            verdict,
        }
    }

    /// The stable code of docs/API.md.
    pub fn code(&self) -> &'static str {
        match self {
            IngestError::Refused(refusal) => refusal.code(),
            IngestError::NotInGoodStanding(_) => "author_not_in_good_standing",
            IngestError::NodePolicy(NodePolicyRefusal::Suspended(_)) => "suspended_node",
            IngestError::NodePolicy(NodePolicyRefusal::Limited(_)) => "limited_node",
            IngestError::NodePolicy(NodePolicyRefusal::IntroductionQuota(..)) => {
                "introduction_quota"
            }
            IngestError::TooLargeToPark => "parking_full",
            IngestError::Store(store) => store.code(),
        }
    }

    /// Whether the record is invalid whoever sends it: its sender is at fault.
    pub fn is_senders_fault(&self) -> bool {
        self.class().verdict == GossipVerdict::Reject
    }

    /// Whether the node itself failed (a store error other than a full disk): the API
    /// answers 500 and logs it; every other refusal is the record's or a limit's.
    pub fn is_internal(&self) -> bool {
        self.class().status == StatusCode::INTERNAL_SERVER_ERROR
    }
}

/// 507 for a full disk, 500 for any other store failure.
pub fn store_status(error: &StoreError) -> StatusCode {
    match error {
        StoreError::NoSpace(_) => StatusCode::INSUFFICIENT_STORAGE,
        _ => StatusCode::INTERNAL_SERVER_ERROR,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use maillon_protocol::ids::RecordId;
    use maillon_protocol::{DecodeError, Invalid};

    #[test]
    fn each_outcome_has_one_code_status_and_verdict() {
        let id = RecordId([3; 32]);
        let cases: Vec<(Result<Submitted, IngestError>, &str, u16, GossipVerdict)> = vec![
            (
                Ok(Submitted::Stored {
                    id,
                    released: vec![],
                }),
                "stored",
                201,
                GossipVerdict::Accept,
            ),
            (
                Ok(Submitted::Duplicate(id)),
                "duplicate",
                200,
                GossipVerdict::Accept,
            ),
            (
                Ok(Submitted::Parked {
                    id,
                    missing: vec![id],
                }),
                "parked",
                202,
                GossipVerdict::Ignore,
            ),
            (
                Err(IngestError::from(DecodeError::TrailingBytes(3))),
                DecodeError::TrailingBytes(3).code(),
                400,
                GossipVerdict::Reject,
            ),
            (
                Err(IngestError::from(Invalid::WrongRules)),
                "wrong_rules",
                422,
                GossipVerdict::Reject,
            ),
            (
                Err(IngestError::from(Invalid::UnknownAuthor)),
                "unknown_author",
                409,
                GossipVerdict::Ignore,
            ),
            (
                Err(IngestError::TooLargeToPark),
                "parking_full",
                503,
                GossipVerdict::Ignore,
            ),
            (
                Err(IngestError::Store(StoreError::NoSpace("full".into()))),
                "insufficient_storage",
                507,
                GossipVerdict::Ignore,
            ),
            (
                Err(IngestError::Store(StoreError::Corrupt("bad".into()))),
                "storage",
                500,
                GossipVerdict::Ignore,
            ),
        ];
        for (outcome, code, status, verdict) in cases {
            let class = classify(&outcome);
            assert_eq!(class.code, code, "{outcome:?}");
            assert_eq!(class.status.as_u16(), status, "{outcome:?}");
            assert_eq!(class.verdict, verdict, "{outcome:?}");
            if let Err(error) = &outcome {
                assert_eq!(error.is_senders_fault(), verdict == GossipVerdict::Reject);
                assert_eq!(error.is_internal(), status == 500);
            }
        }
    }
}
