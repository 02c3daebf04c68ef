use std::fs;
use std::os::unix::fs::PermissionsExt;

use super::*;

const ROW: Aad<'static> = Aad {
    table: "credentials",
    row_id: "7",
    field: "password",
};

const CANARY: &str = "canary-secret-3f9a";

fn random_key_base64() -> String {
    STANDARD.encode(generate_key().unwrap().as_slice())
}

fn mode(path: &Path) -> u32 {
    fs::metadata(path).unwrap().permissions().mode() & 0o777
}

fn key_path(dir: &tempfile::TempDir) -> PathBuf {
    dir.path().join("state").join("keys.toml")
}

#[test]
fn round_trip_through_a_ring() {
    let ring = KeyRing::from_base64_key(&random_key_base64()).unwrap();
    let sealed = ring.encrypt(CANARY, &ROW).unwrap();
    assert_eq!(cipher::sealed_key_id(&sealed), Some(ring.primary_id()));
    assert!(!sealed.contains(CANARY));
    assert_eq!(ring.decrypt(&sealed, &ROW).unwrap().expose(), CANARY);
    assert_eq!(ring.ids(), vec![ring.primary_id()]);
    assert!(ring.contains(ring.primary_id()));
    assert!(!ring.contains("kffffffff"));
}

#[test]
fn key_ids_are_derived_from_the_key() {
    let text = random_key_base64();
    let a = KeyRing::from_base64_key(&text).unwrap();
    let b = KeyRing::from_base64_key(&format!("{text}\n")).unwrap();
    assert_eq!(a.primary_id(), b.primary_id());
    let id = a.primary_id();
    assert_eq!(id.len(), 9);
    assert!(id.starts_with('k'));
    assert!(id[1..].bytes().all(|c| c.is_ascii_hexdigit()));
    // Known answer: SHA-256 of 32 zero bytes starts with 66687aad.
    let zeros = STANDARD.encode([0u8; 32]);
    assert_eq!(
        KeyRing::from_base64_key(&zeros).unwrap().primary_id(),
        "k66687aad"
    );
}

#[test]
fn another_key_ring_reports_the_missing_key_id() {
    let ring = KeyRing::from_base64_key(&random_key_base64()).unwrap();
    let other = KeyRing::from_base64_key(&random_key_base64()).unwrap();
    let sealed = ring.encrypt(CANARY, &ROW).unwrap();
    let err = other.decrypt(&sealed, &ROW).unwrap_err();
    assert!(matches!(&err, SecretsError::KeyNotInRing { key_id } if key_id == ring.primary_id()));
    assert_eq!(
        err.to_string(),
        format!(
            "key id {} is not in the key ring (set SYNCDECK_ENCRYPTION_KEY to the key that encrypted it, or restore the key file)",
            ring.primary_id()
        )
    );
}

#[test]
fn a_different_key_under_the_same_id_is_an_error_not_garbage() {
    let ring = KeyRing::from_base64_key(&random_key_base64()).unwrap();
    let sealed = ring.encrypt(CANARY, &ROW).unwrap();
    // Only reachable by corrupting memory or the code, but it must still fail closed.
    let mut corrupted = ring.clone();
    let wrong = generate_key().unwrap();
    let id = ring.primary_id().to_string();
    corrupted
        .keys
        .insert(id, Aes256Gcm::new(&Key::<Aes256Gcm>::from(*wrong)));
    assert!(matches!(
        corrupted.decrypt(&sealed, &ROW),
        Err(SecretsError::Tampered)
    ));
}

#[test]
fn moved_ciphertext_is_refused_by_the_ring() {
    let ring = KeyRing::from_base64_key(&random_key_base64()).unwrap();
    let sealed = ring.encrypt(CANARY, &ROW).unwrap();
    let other_row = Aad { row_id: "8", ..ROW };
    assert!(matches!(
        ring.decrypt(&sealed, &other_row),
        Err(SecretsError::Tampered)
    ));
}

#[test]
fn bad_keys_are_explained_without_echoing_them() {
    let not_base64 = "my-secret-key-with-a-typo!";
    let err = KeyRing::from_base64_key(not_base64).unwrap_err();
    assert!(matches!(err, SecretsError::BadKey { .. }));
    let message = err.to_string();
    assert!(message.contains("base64 of exactly 32 bytes"), "{message}");
    assert!(!message.contains("typo"), "{message}");

    let short = STANDARD.encode(b"sixteen byte key");
    let message = KeyRing::from_base64_key(&short).unwrap_err().to_string();
    assert!(message.contains("decodes to 16 bytes"), "{message}");
    assert!(!message.contains(&short), "{message}");

    let dir = tempfile::tempdir().unwrap();
    let err = load_key_ring(Some(not_base64), &key_path(&dir))
        .err()
        .unwrap();
    let message = err.to_string();
    assert!(message.contains("SYNCDECK_ENCRYPTION_KEY"), "{message}");
    assert!(!message.contains("typo"), "{message}");
    assert!(!format!("{err:?}").contains("typo"));
    // A bad env key must not cause a key file to be created as a side effect.
    assert!(!key_path(&dir).exists());
}

#[test]
fn debug_of_a_ring_shows_ids_only() {
    let text = random_key_base64();
    let ring = KeyRing::from_base64_key(&text).unwrap();
    let printed = format!("{ring:?}");
    assert!(printed.contains(ring.primary_id()), "{printed}");
    assert!(!printed.contains(&text), "{printed}");
}

#[test]
fn first_load_creates_a_private_key_file_and_the_second_reuses_it() {
    let dir = tempfile::tempdir().unwrap();
    let path = key_path(&dir);
    let first = load_key_ring(None, &path).unwrap();
    assert_eq!(first.created_key_file.as_deref(), Some(path.as_path()));
    assert_eq!(mode(&path), 0o600);
    let sealed = first.ring.encrypt(CANARY, &ROW).unwrap();

    let second = load_key_ring(None, &path).unwrap();
    assert_eq!(second.created_key_file, None);
    assert_eq!(second.ring.primary_id(), first.ring.primary_id());
    assert_eq!(second.ring.ids(), first.ring.ids());
    assert_eq!(second.ring.env_key_id(), None);
    assert_eq!(second.ring.decrypt(&sealed, &ROW).unwrap().expose(), CANARY);

    let text = fs::read_to_string(&path).unwrap();
    assert!(
        text.contains(&format!("primary = \"{}\"", first.ring.primary_id())),
        "{text}"
    );
    assert!(text.contains("created_at"), "{text}");
}

#[test]
fn a_key_file_readable_by_others_is_refused() {
    let dir = tempfile::tempdir().unwrap();
    let path = key_path(&dir);
    load_key_ring(None, &path).unwrap();
    fs::set_permissions(&path, fs::Permissions::from_mode(0o644)).unwrap();
    let err = load_key_ring(None, &path).err().unwrap();
    assert!(matches!(err, SecretsError::KeyFilePermissions { .. }));
    let message = err.to_string();
    assert!(message.contains(&path.display().to_string()), "{message}");
    assert!(message.contains("chmod 600"), "{message}");
}

#[test]
fn an_altered_key_in_the_file_is_refused() {
    let dir = tempfile::tempdir().unwrap();
    let path = key_path(&dir);
    let loaded = load_key_ring(None, &path).unwrap();
    let text = fs::read_to_string(&path).unwrap();
    let replacement = random_key_base64();
    let altered: String = text
        .lines()
        .map(|line| {
            if line.starts_with("key = ") {
                format!("key = \"{replacement}\"\n")
            } else {
                format!("{line}\n")
            }
        })
        .collect();
    fs::write(&path, altered).unwrap();
    let message = load_key_ring(None, &path).err().unwrap().to_string();
    assert!(message.contains(loaded.ring.primary_id()), "{message}");
    assert!(message.contains("does not match its id"), "{message}");
    assert!(!message.contains(&replacement), "{message}");
}

#[test]
fn env_key_alone_is_primary_and_creates_no_file() {
    let dir = tempfile::tempdir().unwrap();
    let path = key_path(&dir);
    let env = random_key_base64();
    let loaded = load_key_ring(Some(&env), &path).unwrap();
    assert_eq!(loaded.created_key_file, None);
    assert!(!path.exists());
    let expected = KeyRing::from_base64_key(&env).unwrap();
    assert_eq!(loaded.ring.primary_id(), expected.primary_id());
    assert_eq!(loaded.ring.env_key_id(), Some(expected.primary_id()));
}

#[test]
fn env_key_is_primary_beside_a_key_file_and_file_keys_still_decrypt() {
    let dir = tempfile::tempdir().unwrap();
    let path = key_path(&dir);
    let file_ring = load_key_ring(None, &path).unwrap().ring;
    let old = file_ring.encrypt(CANARY, &ROW).unwrap();

    let env = random_key_base64();
    let ring = load_key_ring(Some(&env), &path).unwrap().ring;
    assert_eq!(ring.ids().len(), 2);
    assert_eq!(ring.env_key_id(), Some(ring.primary_id()));
    assert_ne!(ring.primary_id(), file_ring.primary_id());
    assert_eq!(ring.decrypt(&old, &ROW).unwrap().expose(), CANARY);
}

#[test]
fn rotation_changes_the_primary_and_old_keys_keep_decrypting() {
    let dir = tempfile::tempdir().unwrap();
    let path = key_path(&dir);
    let ring = load_key_ring(None, &path).unwrap().ring;
    let old = ring.encrypt(CANARY, &ROW).unwrap();

    let rotated = add_rotated_key(&path, &ring).unwrap();
    assert_ne!(rotated.primary_id(), ring.primary_id());
    assert!(rotated.contains(ring.primary_id()));
    assert_eq!(rotated.decrypt(&old, &ROW).unwrap().expose(), CANARY);
    let new = rotated.encrypt(CANARY, &ROW).unwrap();
    assert_eq!(cipher::sealed_key_id(&new), Some(rotated.primary_id()));
    assert_eq!(mode(&path), 0o600);

    let reloaded = load_key_ring(None, &path).unwrap().ring;
    assert_eq!(reloaded.primary_id(), rotated.primary_id());
    assert_eq!(reloaded.ids(), rotated.ids());
    assert_eq!(reloaded.decrypt(&old, &ROW).unwrap().expose(), CANARY);
    assert_eq!(reloaded.decrypt(&new, &ROW).unwrap().expose(), CANARY);
    // Only the key file is left in its directory: no temporary files.
    assert_eq!(fs::read_dir(path.parent().unwrap()).unwrap().count(), 1);
}

#[test]
fn rotating_away_from_the_env_key_retires_it() {
    let dir = tempfile::tempdir().unwrap();
    let path = key_path(&dir);
    let env = random_key_base64();
    let ring = load_key_ring(Some(&env), &path).unwrap().ring;
    let env_id = ring.primary_id().to_string();
    let old = ring.encrypt(CANARY, &ROW).unwrap();

    let rotated = add_rotated_key(&path, &ring).unwrap();
    assert_ne!(rotated.primary_id(), env_id);
    assert_eq!(mode(&path), 0o600);
    let text = fs::read_to_string(&path).unwrap();
    assert!(
        text.contains(&format!("retired = [\"{env_id}\"]")),
        "{text}"
    );
    // The env key is not copied to disk.
    assert!(!text.contains(env.trim()), "{text}");

    // Restarted with the variable still set: the new key stays primary.
    let reloaded = load_key_ring(Some(&env), &path).unwrap().ring;
    assert_eq!(reloaded.primary_id(), rotated.primary_id());
    assert_eq!(reloaded.env_key_id(), Some(env_id.as_str()));
    assert_eq!(reloaded.decrypt(&old, &ROW).unwrap().expose(), CANARY);

    // Without the variable, secrets still under the env key name it.
    let without_env = load_key_ring(None, &path).unwrap().ring;
    assert!(matches!(
        without_env.decrypt(&old, &ROW),
        Err(SecretsError::KeyNotInRing { key_id }) if key_id == env_id
    ));
}

#[test]
fn prune_removes_only_unused_non_primary_keys() {
    let dir = tempfile::tempdir().unwrap();
    let path = key_path(&dir);
    let first = load_key_ring(None, &path).unwrap().ring;
    let second = add_rotated_key(&path, &first).unwrap();
    let third = add_rotated_key(&path, &second).unwrap();
    let (first_id, second_id, third_id) =
        (first.primary_id(), second.primary_id(), third.primary_id());

    // A secret still uses the second key: keep it.
    let removed = prune_keys(&path, &[second_id]).unwrap();
    assert_eq!(removed, vec![first_id.to_string()]);
    let reloaded = load_key_ring(None, &path).unwrap().ring;
    assert_eq!(reloaded.primary_id(), third_id);
    assert!(reloaded.contains(second_id));
    assert!(!reloaded.contains(first_id));
    assert_eq!(mode(&path), 0o600);

    // Nothing uses the second any more; the primary survives an empty keep list.
    assert_eq!(prune_keys(&path, &[]).unwrap(), vec![second_id.to_string()]);
    assert_eq!(prune_keys(&path, &[]).unwrap(), Vec::<String>::new());
    let reloaded = load_key_ring(None, &path).unwrap().ring;
    assert_eq!(reloaded.ids(), vec![third_id]);
}

#[test]
fn prune_without_a_key_file_removes_nothing() {
    let dir = tempfile::tempdir().unwrap();
    assert!(prune_keys(&key_path(&dir), &[]).unwrap().is_empty());
}

#[test]
fn no_error_message_contains_key_material() {
    let dir = tempfile::tempdir().unwrap();
    let path = key_path(&dir);
    load_key_ring(None, &path).unwrap();
    let text = fs::read_to_string(&path).unwrap();
    let key_line = text.lines().find(|l| l.starts_with("key = ")).unwrap();
    let key = key_line
        .trim_start_matches("key = ")
        .trim_matches('"')
        .to_string();
    // Break the file after the key so the parser fails on a line near it.
    fs::write(&path, format!("{text}\nnot toml at all {key}\n")).unwrap();
    let err = load_key_ring(None, &path).err().unwrap();
    assert!(!err.to_string().contains(&key), "{err}");
    assert!(!format!("{err:?}").contains(&key));
}
