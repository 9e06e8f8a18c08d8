//! The founding team's plan as `maillon init … found` takes it, checked and written as the
//! node's founding draft.

use std::path::Path;

use super::draft::{code_from, hash_code, Draft, DraftError, Numbers};
use crate::init::{random_seed, InitError};

/// What a founding team decides before its founders have keys.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct FoundingPlan {
    /// How many founders will create their accounts (3 to 7 is usual).
    pub founders: usize,
    /// The charter's numbers.
    pub numbers: Numbers,
    /// The rules every member accepts.
    pub rules: String,
}

impl Default for FoundingPlan {
    fn default() -> Self {
        FoundingPlan {
            founders: 3,
            numbers: Numbers::default(),
            rules: crate::founding::draft::DEFAULT_RULES.to_string(),
        }
    }
}

/// Checks the founding plan and writes its draft into `data`; returns the founding code.
pub(crate) fn write_founding_draft(
    data: &Path,
    network_name: &str,
    postcode: &str,
    plan: &FoundingPlan,
) -> Result<String, InitError> {
    let network_name = network_name.trim();
    if network_name.is_empty()
        || network_name.len() > 80
        || network_name.chars().any(char::is_control)
    {
        return Err(InitError::BadName("network name"));
    }
    let postcode = postcode.trim();
    if postcode.len() != 5 || !postcode.bytes().all(|b| b.is_ascii_digit()) {
        return Err(InitError::BadPostcode(postcode.to_string()));
    }
    let rules = plan.rules.replace("\r\n", "\n");
    let rules = rules.trim();
    if rules.is_empty() || rules.len() > 8000 || rules.chars().any(|c| c.is_control() && c != '\n')
    {
        return Err(InitError::BadRules(rules.len()));
    }
    let problems = plan.numbers.problems_for_team(plan.founders);
    if !problems.is_empty() {
        return Err(InitError::Unviable(problems));
    }
    let mut random = [0u8; 8];
    random.copy_from_slice(&random_seed()?[..8]);
    let code = code_from(random);
    let draft = Draft {
        network_name: network_name.to_string(),
        postcode: postcode.to_string(),
        expected_founders: plan.founders,
        numbers: plan.numbers,
        rules: rules.to_string(),
        code_hash: hash_code(&code),
        founders: Vec::new(),
    };
    draft.save(data).map_err(|e| match e {
        DraftError::Io { path, source } => InitError::Io { path, source },
        other => InitError::BadCharter(other.to_string()),
    })?;
    Ok(code)
}
