//! [`FoundingSite`]: the node's side of the founding pages. It keeps the draft and the
//! founders' accounts, checks every approval and the signed charter against the draft, and
//! writes the charter, the node's announcement and the founders' profiles, charter last,
//! so that a failed signing leaves the node in its founding state.

use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex};

use maillon_protocol::kinds::{node_operator_message, Body, NodeAnnouncement};
use maillon_protocol::{viability, Draft as RecordDraft, PublicKey, Record, SecretKey, Signature};
use maillon_web_ui::backend::{Account, AccountCreated, BackendError};
use maillon_web_ui::founding::{
    FounderAdded, FounderView, FoundingBackend, FoundingOutcome, FoundingView, NewFounder,
};
use tokio::sync::watch;

use super::draft::{write_atomically, Draft, DraftFounder, RECORDS_FILE};
use crate::engine::Clock;
use crate::web::accounts::AccountFiles;

/// The founding pages' backend.
#[derive(Clone)]
pub struct FoundingSite {
    inner: Arc<Inner>,
}

struct Inner {
    data_dir: PathBuf,
    charter_file: PathBuf,
    node_name: String,
    node_secret: SecretKey,
    accounts: AccountFiles,
    draft: Mutex<Draft>,
    founded: watch::Sender<bool>,
    clock: Clock,
}

fn backend_error(error: impl std::fmt::Display) -> BackendError {
    BackendError(error.to_string())
}

impl FoundingSite {
    /// Opens the draft and the accounts of a node being founded. `founded` turns true once
    /// the charter is written.
    pub fn open(
        config: &crate::config::Config,
        clock: Clock,
        founded: watch::Sender<bool>,
    ) -> Result<FoundingSite, crate::node::NodeError> {
        use crate::node::NodeError;
        let data_dir = config.data_dir.clone();
        let draft = Draft::load(&data_dir).map_err(|e| NodeError::BadFile(e.to_string()))?;
        let accounts = AccountFiles::open(data_dir.join("accounts"))
            .map_err(|e| NodeError::Web(e.to_string()))?;
        let node_secret = crate::node::read_key(&data_dir.join("node.key"))?;
        Ok(FoundingSite {
            inner: Arc::new(Inner {
                data_dir,
                charter_file: config.charter_file.clone(),
                node_name: config.name.clone(),
                node_secret,
                accounts,
                draft: Mutex::new(draft),
                founded,
                clock,
            }),
        })
    }

    fn draft(&self) -> std::sync::MutexGuard<'_, Draft> {
        self.inner.draft.lock().unwrap_or_else(|e| e.into_inner())
    }

    fn founder_view(draft: &Draft, founder: &DraftFounder) -> Option<FounderView> {
        Some(FounderView {
            login: founder.login.clone(),
            display_name: founder.display_name.clone(),
            town: founder.town.clone(),
            postcode: founder.postcode.clone(),
            position: founder.position(),
            key: founder.public_key()?,
            council: founder.council,
            approved: founder.approval_for(&draft.charter()).is_some(),
        })
    }

    fn is_founded(&self) -> bool {
        *self.inner.founded.borrow()
    }

    /// Takes a founder out of the draft and deletes their account, before the signature.
    fn remove_founder(&self, login: &str) -> Result<FoundingOutcome, BackendError> {
        let mut draft = self.draft();
        if self.is_founded() {
            return Ok(FoundingOutcome::AlreadyFounded);
        }
        let mut updated = draft.clone();
        updated.founders.retain(|f| f.login != login);
        if updated.founders.len() == draft.founders.len() {
            return Ok(FoundingOutcome::UnknownFounder);
        }
        updated.save(&self.inner.data_dir).map_err(backend_error)?;
        *draft = updated;
        // The draft no longer names the key: an account left behind would be a stranger's.
        self.inner.accounts.delete(login).map_err(backend_error)?;
        Ok(FoundingOutcome::Done)
    }
}

impl FoundingBackend for FoundingSite {
    fn view(&self) -> Result<FoundingView, BackendError> {
        let draft = self.draft();
        Ok(FoundingView {
            node_name: self.inner.node_name.clone(),
            node_key: self.inner.node_secret.public_key(),
            expected_founders: draft.expected_founders,
            founders: draft
                .founders
                .iter()
                .filter_map(|f| Self::founder_view(&draft, f))
                .collect(),
            charter: draft.charter(),
            founded: self.is_founded(),
        })
    }

    fn now(&self) -> maillon_protocol::Timestamp {
        (self.inner.clock)()
    }

    fn account(&self, login: &str) -> Result<Option<Account>, BackendError> {
        Ok(self.inner.accounts.get(login))
    }

    fn add_founder(&self, code: &str, founder: NewFounder) -> Result<FounderAdded, BackendError> {
        let mut draft = self.draft();
        if self.is_founded() {
            return Ok(FounderAdded::AlreadyFounded);
        }
        if !draft.code_matches(code) {
            return Ok(FounderAdded::WrongCode);
        }
        if draft.founders.len() >= maillon_protocol::kinds::network::bounds::MAX_FOUNDERS {
            return Ok(FounderAdded::Full);
        }
        let login = founder.account.login.clone();
        if self
            .inner
            .accounts
            .create(&founder.account)
            .map_err(backend_error)?
            == AccountCreated::LoginTaken
        {
            return Ok(FounderAdded::LoginTaken);
        }
        let mut updated = draft.clone();
        updated.founders.push(DraftFounder {
            login: login.clone(),
            display_name: founder.display_name,
            town: founder.town,
            postcode: founder.postcode,
            lat_microdeg: founder.position.lat_microdeg,
            lon_microdeg: founder.position.lon_microdeg,
            key: founder.account.key.to_hex(),
            council: founder.council,
            approval: None,
        });
        if let Err(error) = updated.save(&self.inner.data_dir) {
            // Nothing half-made: no account without its place in the draft.
            let _ = self.inner.accounts.delete(&login);
            return Err(backend_error(error));
        }
        *draft = updated;
        Ok(FounderAdded::Added)
    }

    fn withdraw(&self, login: &str) -> Result<FoundingOutcome, BackendError> {
        self.remove_founder(login)
    }

    fn remove(&self, code: &str, login: &str) -> Result<FoundingOutcome, BackendError> {
        if !self.draft().code_matches(code) {
            return Ok(FoundingOutcome::WrongCode);
        }
        self.remove_founder(login)
    }

    fn approve(&self, login: &str, profile: Record) -> Result<FoundingOutcome, BackendError> {
        let mut draft = self.draft();
        if self.is_founded() {
            return Ok(FoundingOutcome::AlreadyFounded);
        }
        let charter = draft.charter();
        let mut updated = draft.clone();
        let Some(founder) = updated.founders.iter_mut().find(|f| f.login == login) else {
            return Err(backend_error(format!("{login} is not a founder")));
        };
        founder.approval = Some(hex::encode(profile.to_wire()));
        if founder.approval_for(&charter).is_none() {
            return Ok(FoundingOutcome::DraftChanged);
        }
        updated.save(&self.inner.data_dir).map_err(backend_error)?;
        *draft = updated;
        Ok(FoundingOutcome::Done)
    }

    fn found(
        &self,
        login: &str,
        profile: Record,
        charter: Record,
        operator_signature: Signature,
    ) -> Result<FoundingOutcome, BackendError> {
        let mut draft = self.draft();
        if self.is_founded() {
            return Ok(FoundingOutcome::AlreadyFounded);
        }
        let mut updated = draft.clone();
        if let Some(founder) = updated.founders.iter_mut().find(|f| f.login == login) {
            founder.approval = Some(hex::encode(profile.to_wire()));
        }
        let Some(records) = check_founding(&updated, login, &charter)? else {
            return Ok(FoundingOutcome::DraftChanged);
        };
        let profiles = match records {
            Checked::Profiles(profiles) => profiles,
            Checked::Refused(outcome) => return Ok(outcome),
        };
        let announcement = self.announcement(&updated, &charter, operator_signature)?;
        write_founding(
            &self.inner.data_dir,
            &self.inner.charter_file,
            &charter,
            &announcement,
            &profiles,
        )
        .map_err(backend_error)?;
        // The draft stays as a record of the ceremony; the charter file now rules.
        let _ = updated.save(&self.inner.data_dir);
        *draft = updated;
        self.inner.founded.send_replace(true);
        Ok(FoundingOutcome::Done)
    }
}

enum Checked {
    Profiles(Vec<Record>),
    Refused(FoundingOutcome),
}

/// Checks a signed charter against the draft: the same charter, viable, signed by the
/// founder `login`, with every founder's approval current. `None`: the charter differs from
/// the draft.
fn check_founding(
    draft: &Draft,
    login: &str,
    charter: &Record,
) -> Result<Option<Checked>, BackendError> {
    let expected = draft.charter();
    let signer = draft
        .founders
        .iter()
        .find(|f| f.login == login)
        .and_then(DraftFounder::public_key)
        .ok_or_else(|| backend_error(format!("{login} is not a founder")))?;
    let read = crate::init::read_charter(&charter.to_wire()).map_err(backend_error)?;
    let same = matches!(read.body(), Some(Body::Charter(c)) if *c == expected);
    if !same || read.header().author != signer {
        return Ok(None);
    }
    if !viability::check(&expected).is_empty() {
        return Ok(Some(Checked::Refused(FoundingOutcome::Unviable)));
    }
    let mut profiles = Vec::new();
    let mut missing = Vec::new();
    for founder in &draft.founders {
        match founder.approval_for(&expected) {
            Some(profile) => profiles.push(profile),
            None if founder.login == login => return Ok(None),
            None => missing.push(founder.display_name.clone()),
        }
    }
    if !missing.is_empty() {
        return Ok(Some(Checked::Refused(FoundingOutcome::NotApproved(
            missing,
        ))));
    }
    Ok(Some(Checked::Profiles(profiles)))
}

impl FoundingSite {
    fn announcement(
        &self,
        draft: &Draft,
        charter: &Record,
        operator_signature: Signature,
    ) -> Result<Record, BackendError> {
        let network = charter.header().network;
        let node = &self.inner.node_secret;
        let operator: PublicKey = charter.header().author;
        maillon_protocol::signature::verify(
            &operator,
            &node_operator_message(&network, &node.public_key()),
            &operator_signature,
        )
        .map_err(|_| backend_error("the operator's signature does not vouch for this node"))?;
        let body = NodeAnnouncement {
            name: self.inner.node_name.trim().to_string(),
            region: String::new(),
            postcode: draft.postcode.clone(),
            addresses: Vec::new(),
            operator,
            operator_signature,
        };
        let created = charter.header().created;
        let record = RecordDraft {
            body: body.into(),
            created,
            expires: None,
        };
        Record::sign(node, &network, record).map_err(backend_error)
    }
}

/// Writes the founders' profiles and the announcement, then the charter; on any failure
/// removes what was written, so the node stays in its founding state.
fn write_founding(
    data_dir: &Path,
    charter_file: &Path,
    charter: &Record,
    announcement: &Record,
    profiles: &[Record],
) -> std::io::Result<()> {
    let records_path = data_dir.join(RECORDS_FILE);
    let announcement_path = data_dir.join(crate::node::ANNOUNCEMENT_FILE);
    let wires: Vec<Vec<u8>> = profiles.iter().map(Record::to_wire).collect();
    let mut records = Vec::new();
    crate::records_file::write_records(&mut records, wires.iter().map(Vec::as_slice))?;
    let written = write_atomically(&records_path, &records)
        .and_then(|()| write_atomically(&announcement_path, &announcement.to_wire()))
        .and_then(|()| write_atomically(charter_file, &charter.to_wire()));
    if written.is_err() {
        for path in [charter_file, &announcement_path, &records_path] {
            let _ = std::fs::remove_file(path);
        }
    }
    written
}
