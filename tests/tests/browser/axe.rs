//! axe-core, the accessibility checker, run in the page the browser shows: every rule of its
//! default set (WCAG 2 A and AA, and its best practices). `scripts/test-all.sh` fetches the
//! pinned version from npm and names it in `MAILLON_AXE_JS`.

use std::path::PathBuf;

use anyhow::{bail, Context, Result};

/// The version `scripts/test-all.sh` fetches.
const AXE_VERSION: &str = "4.14.1";

/// axe-core's script: `MAILLON_AXE_JS`, or where `scripts/test-all.sh` puts it.
pub fn source() -> Result<String> {
    let path = match std::env::var_os("MAILLON_AXE_JS") {
        Some(path) => PathBuf::from(path),
        None => PathBuf::from(env!("CARGO_MANIFEST_DIR"))
            .join("..")
            .join("target")
            .join(format!("axe-core-{AXE_VERSION}"))
            .join("axe.min.js"),
    };
    if !path.exists() {
        bail!(
            "the browser tests check pages with axe-core, but {} is missing: run \
             ./scripts/test-all.sh, which fetches it from npm, or set MAILLON_AXE_JS",
            path.display()
        );
    }
    std::fs::read_to_string(&path).with_context(|| format!("reading {}", path.display()))
}

/// The script that runs axe on the page and hands back one line per violation.
pub const RUN: &str = r#"
const done = arguments[arguments.length - 1];
axe.run(document, { resultTypes: ["violations"] })
  .then(function (results) {
    done(results.violations.map(function (v) {
      const where = v.nodes.slice(0, 3).map(function (n) { return n.target.join(" "); });
      return v.id + " (" + v.impact + "): " + v.help + " at " + where.join(", ");
    }));
  })
  .catch(function (error) { done(["axe-core failed: " + error]); });
"#;
