//! What this binary is: its release version, the git commit it was built from (when the
//! build could read it), the protocol it speaks and the store format it writes.

/// The release version (the workspace's `version`).
pub const VERSION: &str = env!("CARGO_PKG_VERSION");

/// The git commit built (12 hex digits), when git was there at build time (`build.rs`).
pub const COMMIT: Option<&str> = option_env!("MAILLON_GIT_COMMIT");

/// One line for the operator: version, commit, protocol and store format.
pub fn describe() -> String {
    format!(
        "{VERSION} (commit {}, protocol {}, store format {})",
        COMMIT.unwrap_or("unknown"),
        maillon_protocol::PROTOCOL_VERSION,
        crate::store::FORMAT_VERSION,
    )
}
