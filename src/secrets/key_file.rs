// Reading and writing the key file (its format is described at the top of key_ring.rs).
// The file holds every key that can decrypt stored credentials, so it is never readable by
// anyone but its owner, not even for a moment, and it is replaced atomically: a crash
// during a rotation leaves either the old file or the new one, never half of one.

use std::fs::{self, DirBuilder, File, OpenOptions};
use std::io::{self, Read, Write};
use std::os::unix::fs::{DirBuilderExt, OpenOptionsExt, PermissionsExt};
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicU64, Ordering};

use serde::{Deserialize, Serialize};
use zeroize::{Zeroize, ZeroizeOnDrop, Zeroizing};

use super::error::SecretsError;

const HEADER: &str = "\
# syncdeck encryption keys. Keep this file private (mode 0600) and back it up:
# without it, stored credentials cannot be decrypted. Managed by `syncdeck keys`.
";

// No Debug: a derived one would print key material.
#[derive(Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub(crate) struct KeyFileDoc {
    pub(crate) primary: String,
    // A typo here would silently make a retired env key primary again, hence
    // `deny_unknown_fields`.
    #[serde(default)]
    pub(crate) retired: Vec<String>,
    #[serde(default)]
    pub(crate) keys: Vec<KeyEntry>,
}

#[derive(Serialize, Deserialize, Zeroize, ZeroizeOnDrop)]
#[serde(deny_unknown_fields)]
pub(crate) struct KeyEntry {
    pub(crate) id: String,
    pub(crate) key: String,
    pub(crate) created_at: String,
}

pub(crate) fn file_error(path: &Path, reason: impl Into<String>) -> SecretsError {
    SecretsError::KeyFile {
        path: path.to_path_buf(),
        reason: reason.into(),
    }
}

fn io_error(path: &Path, what: &str, err: &io::Error) -> SecretsError {
    file_error(path, format!("cannot {what}: {err}"))
}

/// `Ok(None)` when there is no key file yet.
pub(crate) fn read(path: &Path) -> Result<Option<KeyFileDoc>, SecretsError> {
    let mut file = match File::open(path) {
        Ok(file) => file,
        Err(err) if err.kind() == io::ErrorKind::NotFound => return Ok(None),
        Err(err) => return Err(io_error(path, "open it", &err)),
    };
    // Checked on the open handle, so the file cannot be swapped between check and read.
    let metadata = file
        .metadata()
        .map_err(|err| io_error(path, "read its permissions", &err))?;
    if !metadata.is_file() {
        return Err(file_error(path, "it is not a regular file"));
    }
    let mode = metadata.permissions().mode() & 0o777;
    if mode & 0o077 != 0 {
        return Err(SecretsError::KeyFilePermissions {
            path: path.to_path_buf(),
            mode,
        });
    }
    let mut text = Zeroizing::new(String::new());
    file.read_to_string(&mut text)
        .map_err(|err| io_error(path, "read it", &err))?;
    // The parser's own Display quotes the offending line, which may hold a key: report
    // only the line number and the message.
    toml::from_str(&text).map(Some).map_err(|err| {
        let line = err
            .span()
            .map(|span| text[..span.start.min(text.len())].matches('\n').count() + 1);
        let at = line.map(|l| format!(" at line {l}")).unwrap_or_default();
        file_error(path, format!("not a valid key file{at}: {}", err.message()))
    })
}

fn render(path: &Path, doc: &KeyFileDoc) -> Result<Zeroizing<String>, SecretsError> {
    let body = Zeroizing::new(
        toml::to_string(doc).map_err(|err| file_error(path, format!("cannot encode it: {err}")))?,
    );
    Ok(Zeroizing::new(format!("{HEADER}\n{}", body.as_str())))
}

/// Writes a new key file unless one exists. Returns `false` when another process created it
/// first; the caller then reads that one, so every process ends up with the same key.
pub(crate) fn create(path: &Path, doc: &KeyFileDoc) -> Result<bool, SecretsError> {
    let dir = parent_dir(path);
    DirBuilder::new()
        .recursive(true)
        .mode(0o700)
        .create(&dir)
        .map_err(|err| io_error(path, "create its directory", &err))?;
    let temp = write_temp(path, &dir, doc)?;
    // A hard link never replaces an existing file, so a concurrent creator is detected
    // without ever exposing a half-written file under the real name.
    let linked = fs::hard_link(&temp, path);
    let _ = fs::remove_file(&temp);
    match linked {
        Ok(()) => {
            sync_dir(&dir, path)?;
            Ok(true)
        }
        Err(err) if err.kind() == io::ErrorKind::AlreadyExists => Ok(false),
        Err(err) => Err(io_error(path, "create it", &err)),
    }
}

/// Atomically replaces the key file.
pub(crate) fn replace(path: &Path, doc: &KeyFileDoc) -> Result<(), SecretsError> {
    let dir = parent_dir(path);
    let temp = write_temp(path, &dir, doc)?;
    if let Err(err) = fs::rename(&temp, path) {
        let _ = fs::remove_file(&temp);
        return Err(io_error(path, "replace it", &err));
    }
    sync_dir(&dir, path)
}

fn parent_dir(path: &Path) -> PathBuf {
    match path.parent() {
        Some(parent) if !parent.as_os_str().is_empty() => parent.to_path_buf(),
        _ => PathBuf::from("."),
    }
}

fn write_temp(path: &Path, dir: &Path, doc: &KeyFileDoc) -> Result<PathBuf, SecretsError> {
    static COUNTER: AtomicU64 = AtomicU64::new(0);
    let text = render(path, doc)?;
    let name = path
        .file_name()
        .map(|n| n.to_string_lossy().into_owned())
        .unwrap_or_else(|| "keys".to_string());
    let temp = dir.join(format!(
        ".{name}.{}.{}.tmp",
        std::process::id(),
        COUNTER.fetch_add(1, Ordering::Relaxed)
    ));
    let mut file = OpenOptions::new()
        .write(true)
        .create_new(true)
        .mode(0o600)
        .open(&temp)
        .map_err(|err| io_error(path, "write a temporary file beside it", &err))?;
    let written = file
        .write_all(text.as_bytes())
        .and_then(|()| file.sync_all());
    if let Err(err) = written {
        let _ = fs::remove_file(&temp);
        return Err(io_error(path, "write it", &err));
    }
    Ok(temp)
}

// Without this the new directory entry may not survive a power loss.
fn sync_dir(dir: &Path, path: &Path) -> Result<(), SecretsError> {
    File::open(dir)
        .and_then(|d| d.sync_all())
        .map_err(|err| io_error(path, "sync its directory", &err))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn doc() -> KeyFileDoc {
        KeyFileDoc {
            primary: "kaaaa".to_string(),
            retired: vec![],
            keys: vec![KeyEntry {
                id: "kaaaa".to_string(),
                key: "c2VjcmV0LWtleS1tYXRlcmlhbA==".to_string(),
                created_at: "2025-01-01T00:00:00+00:00".to_string(),
            }],
        }
    }

    fn mode(path: &Path) -> u32 {
        fs::metadata(path).unwrap().permissions().mode() & 0o777
    }

    #[test]
    fn create_writes_0600_and_creates_parents() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("state/nested/keys.toml");
        assert!(create(&path, &doc()).unwrap());
        assert_eq!(mode(&path), 0o600);
        let read_back = read(&path).unwrap().unwrap();
        assert_eq!(read_back.primary, "kaaaa");
        assert_eq!(read_back.keys.len(), 1);
        // No temporary files left behind.
        assert_eq!(fs::read_dir(path.parent().unwrap()).unwrap().count(), 1);
    }

    #[test]
    fn create_does_not_overwrite() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("keys.toml");
        assert!(create(&path, &doc()).unwrap());
        let mut other = doc();
        other.primary = "kbbbb".to_string();
        assert!(!create(&path, &other).unwrap());
        assert_eq!(read(&path).unwrap().unwrap().primary, "kaaaa");
        assert_eq!(fs::read_dir(dir.path()).unwrap().count(), 1);
    }

    #[test]
    fn replace_keeps_0600_and_leaves_no_temp_file() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("keys.toml");
        create(&path, &doc()).unwrap();
        let mut next = doc();
        next.retired.push("kcccc".to_string());
        replace(&path, &next).unwrap();
        assert_eq!(mode(&path), 0o600);
        assert_eq!(read(&path).unwrap().unwrap().retired, vec!["kcccc"]);
        assert_eq!(fs::read_dir(dir.path()).unwrap().count(), 1);
    }

    #[test]
    fn missing_file_is_none() {
        let dir = tempfile::tempdir().unwrap();
        assert!(read(&dir.path().join("absent.toml")).unwrap().is_none());
    }

    #[test]
    fn readable_by_others_is_refused_with_path_and_fix() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("keys.toml");
        create(&path, &doc()).unwrap();
        fs::set_permissions(&path, fs::Permissions::from_mode(0o644)).unwrap();
        let err = read(&path).err().unwrap();
        assert!(matches!(
            err,
            SecretsError::KeyFilePermissions { mode: 0o644, .. }
        ));
        let message = err.to_string();
        assert!(message.contains(&path.display().to_string()), "{message}");
        assert!(message.contains("chmod 600"), "{message}");
        assert!(message.contains("644"), "{message}");
    }

    #[test]
    fn parse_errors_name_the_line_but_not_the_content() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("keys.toml");
        let text = "primary = \"kaaaa\"\n[[keys]]\nid = \"kaaaa\"\nkey = \"TOPSECRETKEYMATERIAL\n";
        File::options()
            .write(true)
            .create_new(true)
            .mode(0o600)
            .open(&path)
            .unwrap()
            .write_all(text.as_bytes())
            .unwrap();
        let message = read(&path).err().unwrap().to_string();
        assert!(message.contains("line 4"), "{message}");
        assert!(!message.contains("TOPSECRET"), "{message}");
    }

    #[test]
    fn unknown_fields_are_refused() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("keys.toml");
        let text = "primary = \"kaaaa\"\nretierd = []\n";
        File::options()
            .write(true)
            .create_new(true)
            .mode(0o600)
            .open(&path)
            .unwrap()
            .write_all(text.as_bytes())
            .unwrap();
        let message = read(&path).err().unwrap().to_string();
        assert!(message.contains("retierd"), "{message}");
    }
}
