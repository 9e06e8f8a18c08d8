//! Writes the protocol test vectors to docs/protocol/vectors/ (or the folder given).
//!
//! `cargo run -p maillon-protocol --example vectors [DIR]`

#![allow(clippy::unwrap_used)]

#[path = "../tests/vector_gen/mod.rs"]
mod vector_gen;

fn main() -> std::io::Result<()> {
    let dir = std::env::args()
        .nth(1)
        .map(std::path::PathBuf::from)
        .unwrap_or_else(|| {
            std::path::PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../docs/protocol/vectors")
        });
    std::fs::create_dir_all(&dir)?;
    for (name, value) in vector_gen::generate() {
        let mut text = serde_json::to_string_pretty(&value).map_err(std::io::Error::other)?;
        text.push('\n');
        std::fs::write(dir.join(name), text)?;
        println!("wrote {}", dir.join(name).display());
    }
    Ok(())
}
