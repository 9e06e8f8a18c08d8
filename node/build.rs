//! Build script: records the git commit the binary is built from, for `GET /api/v1/status`
//! and `maillon --version`. Without git, or outside a repository (a source archive), the
//! commit is simply unknown; the build never fails for it.

use std::path::PathBuf;
use std::process::Command;

fn git(args: &[&str]) -> Option<String> {
    let output = Command::new("git").args(args).output().ok()?;
    if !output.status.success() {
        return None;
    }
    let text = String::from_utf8(output.stdout).ok()?;
    let text = text.trim();
    (!text.is_empty()).then(|| text.to_string())
}

/// Asks cargo to run this script again when the checked-out commit changes: the files git
/// moves then (HEAD, the branch's ref, packed refs). Only existing files are named, since
/// cargo reruns a script on every build while a named file is missing.
fn watch_git() {
    let Some(git_dir) = git(&["rev-parse", "--path-format=absolute", "--git-dir"]) else {
        return;
    };
    let common = git(&["rev-parse", "--path-format=absolute", "--git-common-dir"])
        .unwrap_or_else(|| git_dir.clone());
    let mut files = vec![
        PathBuf::from(&git_dir).join("HEAD"),
        PathBuf::from(&common).join("packed-refs"),
    ];
    if let Some(branch) = git(&["symbolic-ref", "-q", "HEAD"]) {
        files.push(PathBuf::from(&common).join(branch));
    }
    for file in files.iter().filter(|file| file.exists()) {
        println!("cargo:rerun-if-changed={}", file.display());
    }
}

fn main() {
    println!("cargo:rerun-if-changed=build.rs");
    watch_git();
    if let Some(commit) = git(&["rev-parse", "--short=12", "HEAD"]) {
        println!("cargo:rustc-env=MAILLON_GIT_COMMIT={commit}");
    }
}
