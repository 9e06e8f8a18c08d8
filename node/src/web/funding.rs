//! The node's funding file (`funding.json`, a [`JsonFile`]): the operator's donation page
//! and members' requests to feature a listing, with their answers; and granting a request.

use std::path::PathBuf;

use maillon_protocol::kinds::Bump;
use maillon_protocol::{Draft, PublicKey, Record, RecordId, Timestamp};
use maillon_web_ui::backend::{Backend, BackendError, Submitted};
use maillon_web_ui::funding::{BumpAsked, BumpRefused, BumpRequest, BumpState, DonationPage};
use serde::{Deserialize, Serialize};

use super::json_file::{JsonFile, JsonFileError};

/// The funding file could not be read or written.
pub type FundingError = JsonFileError;

/// What the file holds.
#[derive(Clone, Debug, Default, Serialize, Deserialize)]
struct Funding {
    donation: Option<DonationPage>,
    requests: Vec<BumpRequest>,
    next_number: u64,
}

/// The funding file, cached in memory.
#[derive(Debug)]
pub struct FundingFile {
    file: JsonFile<Funding>,
    /// Held while a bump is granted, so that two grants cannot both pass the daily limit.
    pub grant_gate: tokio::sync::Mutex<()>,
}

impl FundingFile {
    /// Opens the file; a missing file is an empty state.
    pub fn open(path: PathBuf) -> Result<FundingFile, FundingError> {
        Ok(FundingFile {
            file: JsonFile::open(path)?,
            grant_gate: tokio::sync::Mutex::new(()),
        })
    }

    fn change<T>(&self, change: impl FnOnce(&mut Funding) -> T) -> Result<T, FundingError> {
        self.file.change(change)
    }

    /// Whether there is a donation page.
    pub fn takes_donations(&self) -> bool {
        self.file.read(|state| state.donation.is_some())
    }

    /// The donation page.
    pub fn donation(&self) -> Option<DonationPage> {
        self.file.read(|state| state.donation.clone())
    }

    /// Sets or removes the donation page.
    pub fn set_donation(&self, page: Option<DonationPage>) -> Result<(), FundingError> {
        self.change(|state| state.donation = page)
    }

    /// Every request, newest first.
    pub fn requests(&self) -> Vec<BumpRequest> {
        let mut requests = self.file.read(|state| state.requests.clone());
        requests.reverse();
        requests
    }

    /// Records a request, unless one for the same listing is waiting.
    pub fn ask(
        &self,
        series: RecordId,
        member: PublicKey,
        message: String,
        now: Timestamp,
    ) -> Result<BumpAsked, FundingError> {
        let series = series.to_hex();
        self.change(|state| {
            let waiting = state
                .requests
                .iter()
                .any(|r| r.series == series && r.state == BumpState::Pending);
            if waiting {
                return BumpAsked::AlreadyPending;
            }
            state.next_number += 1;
            state.requests.push(BumpRequest {
                number: state.next_number,
                series,
                member: member.to_hex(),
                asked: now.0,
                message,
                state: BumpState::Pending,
            });
            BumpAsked::Asked(state.next_number)
        })
    }

    /// A waiting request.
    pub fn pending(&self, number: u64) -> Option<BumpRequest> {
        self.file.read(|state| {
            state
                .requests
                .iter()
                .find(|r| r.number == number && r.state == BumpState::Pending)
                .cloned()
        })
    }

    /// Bumps granted at or after `since`.
    pub fn granted_since(&self, since: Timestamp) -> u64 {
        self.file.read(|state| {
            state
                .requests
                .iter()
                .filter(|r| matches!(r.state, BumpState::Granted { at, .. } if at >= since.0))
                .count() as u64
        })
    }

    /// Answers a waiting request; the answered request, or `None` if it was not waiting.
    pub fn settle(
        &self,
        number: u64,
        answer: BumpState,
    ) -> Result<Option<BumpRequest>, FundingError> {
        self.change(|state| {
            let request = state
                .requests
                .iter_mut()
                .find(|r| r.number == number && r.state == BumpState::Pending)?;
            request.state = answer;
            Some(request.clone())
        })
    }
}

/// Grants a waiting request: signs a bump of `days` days with the node's key and submits
/// it, within the charter's limit of bumps per node in any 24 hours (docs/PROTOCOL.md 9.2).
/// This node signs bumps only here, at its own clock, so the bumps it granted in the last
/// 24 hours are exactly those that count against the limit.
pub(super) async fn grant(
    backend: &super::NodeBackend,
    number: u64,
    days: u64,
) -> Result<Result<BumpRequest, BumpRefused>, BackendError> {
    if !(1..=7).contains(&days) {
        return Ok(Err(BumpRefused::BadDuration));
    }
    let _one_at_a_time = backend.funding.grant_gate.lock().await;
    let Some(request) = backend.funding.pending(number) else {
        return Ok(Err(BumpRefused::NotPending));
    };
    let Some(series) = request.series_id() else {
        return Ok(Err(BumpRefused::ListingGone));
    };
    let shown = backend.listing(&series).is_some_and(|view| !view.withdrawn)
        && backend.moderation().hidden_by(&series).is_none();
    if !shown {
        return Ok(Err(BumpRefused::ListingGone));
    }
    let now = backend.now();
    let limit = backend.site().charter.bumps_per_node_per_day;
    let day_before = now.minus_ms(Timestamp::DAY_MS);
    if backend.funding.granted_since(Timestamp(day_before.0 + 1)) >= limit {
        return Ok(Err(BumpRefused::DailyLimit { limit }));
    }
    let until = now.plus_ms(days * Timestamp::DAY_MS);
    let record = Record::sign(
        &backend.node_secret,
        &backend.engine.network(),
        Draft {
            body: Bump { series }.into(),
            created: now,
            expires: Some(until),
        },
    )
    .map_err(super::backend_error)?;
    let id = match backend.submit(record).await? {
        Submitted::Stored(id) | Submitted::Duplicate(id) | Submitted::Parked(id) => id,
        Submitted::Rejected { code, message } => {
            return Ok(Err(BumpRefused::Refused(format!("{code}: {message}"))))
        }
    };
    let answer = BumpState::Granted {
        bump: id.to_hex(),
        at: now.0,
        until: until.0,
    };
    match backend
        .funding
        .settle(number, answer)
        .map_err(super::backend_error)?
    {
        Some(request) => Ok(Ok(request)),
        None => Ok(Err(BumpRefused::NotPending)),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn requests_and_the_donation_page_survive_a_reopening_and_wait_one_per_listing() {
        let dir = tempfile::tempdir().expect("folder");
        let path = dir.path().join("funding.json");
        let file = FundingFile::open(path.clone()).expect("opens empty");
        assert_eq!(file.donation(), None);
        let page = DonationPage {
            text: "Merci".into(),
            payment_url: "https://asso.fr/don".into(),
            iban: String::new(),
        };
        file.set_donation(Some(page.clone())).expect("written");
        let (series, member) = (RecordId([7; 32]), PublicKey([9; 32]));
        let now = Timestamp(1_000);
        assert_eq!(
            file.ask(series, member, "Payé par chèque".into(), now)
                .unwrap(),
            BumpAsked::Asked(1)
        );
        assert_eq!(
            file.ask(series, member, String::new(), now).unwrap(),
            BumpAsked::AlreadyPending
        );
        let granted = BumpState::Granted {
            bump: "ab".into(),
            at: 2_000,
            until: 9_000,
        };
        assert!(file.settle(1, granted.clone()).unwrap().is_some());
        assert!(file
            .settle(1, BumpState::Declined { at: 3_000 })
            .unwrap()
            .is_none());
        assert_eq!(file.granted_since(Timestamp(2_000)), 1);
        assert_eq!(file.granted_since(Timestamp(2_001)), 0);
        assert_eq!(
            file.ask(series, member, String::new(), now).unwrap(),
            BumpAsked::Asked(2),
            "answered: the member may ask again"
        );

        let again = FundingFile::open(path.clone()).expect("reopens");
        assert_eq!(again.donation(), Some(page));
        let requests = again.requests();
        assert_eq!(requests.len(), 2);
        assert_eq!(requests[0].number, 2, "newest first");
        assert_eq!(requests[1].state, granted);
        assert_eq!(requests[1].message, "Payé par chèque");

        std::fs::write(&path, b"{not json").expect("damage");
        assert!(matches!(
            FundingFile::open(path),
            Err(JsonFileError::Damaged { .. })
        ));
    }
}
