//! The secret key that signs session cookies, kept in a file created on first run.

use std::io::Write;
use std::path::Path;

use anyhow::{Context, bail};
use tower_sessions::cookie::Key;

const KEY_BYTES: usize = 64;

/// Reads the hex-encoded key at `path`, or creates one there with mode 0600.
pub fn load_or_create(path: &Path) -> anyhow::Result<Key> {
    if path.exists() {
        let text = std::fs::read_to_string(path).with_context(|| format!("reading {}", path.display()))?;
        let bytes = hex::decode(text.trim()).with_context(|| format!("{} is not a hex-encoded key", path.display()))?;
        if bytes.len() < KEY_BYTES {
            bail!("{} holds {} bytes; the key needs at least {KEY_BYTES}", path.display(), bytes.len());
        }
        return Ok(Key::from(&bytes));
    }
    if let Some(dir) = path.parent().filter(|d| !d.as_os_str().is_empty()) {
        std::fs::create_dir_all(dir).with_context(|| format!("creating {}", dir.display()))?;
    }
    let bytes: Vec<u8> = (0..KEY_BYTES).map(|_| rand::random::<u8>()).collect();
    let hex = hex::encode(&bytes);
    let mut options = std::fs::OpenOptions::new();
    options.write(true).create_new(true);
    #[cfg(unix)]
    std::os::unix::fs::OpenOptionsExt::mode(&mut options, 0o600);
    let mut file = options.open(path).with_context(|| format!("creating {}", path.display()))?;
    file.write_all(hex.as_bytes())?;
    tracing::info!(path = %path.display(), "created a new secret key");
    Ok(Key::from(&bytes))
}
