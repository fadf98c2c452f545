//! Secret keys kept in files created on first run (mode 0600): the key that signs session
//! cookies and the key that seals stored secrets.

use std::io::Write;
use std::path::Path;

use anyhow::{Context, bail};

/// The hex-encoded key given in `hex`.
pub fn parse(hex: &str, bytes: usize, what: &str) -> anyhow::Result<Vec<u8>> {
    let key = hex::decode(hex.trim()).with_context(|| format!("{what} is not a hex-encoded key"))?;
    if key.len() < bytes {
        bail!("{what} holds {} bytes; the key needs at least {bytes}", key.len());
    }
    Ok(key)
}

/// Creates `path` (mode 0600) and the folders above it that are missing (mode 0700): the data
/// directory holds the keys and the SQLite file, which only this account may read.
pub fn create_private(path: &Path) -> anyhow::Result<std::fs::File> {
    if let Some(dir) = path.parent().filter(|d| !d.as_os_str().is_empty() && !d.exists()) {
        let mut builder = std::fs::DirBuilder::new();
        builder.recursive(true);
        #[cfg(unix)]
        std::os::unix::fs::DirBuilderExt::mode(&mut builder, 0o700);
        builder.create(dir).with_context(|| format!("creating {}", dir.display()))?;
    }
    let mut options = std::fs::OpenOptions::new();
    options.write(true).create_new(true);
    #[cfg(unix)]
    std::os::unix::fs::OpenOptionsExt::mode(&mut options, 0o600);
    options.open(path).with_context(|| format!("creating {}", path.display()))
}

/// Reads the hex-encoded key of at least `bytes` bytes at `path`, or creates one there.
pub fn load_or_create(path: &Path, bytes: usize) -> anyhow::Result<Vec<u8>> {
    if path.exists() {
        let text = std::fs::read_to_string(path).with_context(|| format!("reading {}", path.display()))?;
        return parse(&text, bytes, &path.display().to_string());
    }
    let key: Vec<u8> = (0..bytes).map(|_| rand::random::<u8>()).collect();
    let mut file = create_private(path)?;
    file.write_all(hex::encode(&key).as_bytes())?;
    tracing::info!(path = %path.display(), "created a new secret key");
    Ok(key)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_key_file_is_created_once_private_and_read_back() {
        let dir = tempfile::tempdir().expect("tempdir");
        let path = dir.path().join("keys/enc.key");
        let key = load_or_create(&path, 32).expect("created");
        assert_eq!(key.len(), 32);
        #[cfg(unix)]
        {
            use std::os::unix::fs::PermissionsExt;
            let mode = std::fs::metadata(&path).expect("meta").permissions().mode() & 0o777;
            assert_eq!(mode, 0o600);
        }
        assert_eq!(load_or_create(&path, 32).expect("read"), key);
        assert!(load_or_create(&path, 64).is_err(), "too short for a 64-byte key");
        assert!(parse("zz", 1, "x").is_err());
    }
}
