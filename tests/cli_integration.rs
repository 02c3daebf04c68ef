//! The command line driven from outside: the real binary on real SQLite files.
#![allow(clippy::unwrap_used, clippy::expect_used)]

mod common;

use std::path::{Path, PathBuf};
use std::process::{Command, Output};

const CANARY: &str = "canary-5ecret-9f8e7d6c5b4a";
const CANARY_PW: &str = "canary-pa55word-0a1b2c3d";

struct Sandbox {
    dir: tempfile::TempDir,
    key: String,
}

impl Sandbox {
    fn new() -> Self {
        Self {
            dir: tempfile::tempdir().unwrap(),
            key: common::TEST_KEY.to_string(),
        }
    }

    fn path(&self, name: &str) -> PathBuf {
        self.dir.path().join(name)
    }

    fn db(&self) -> PathBuf {
        self.path("data/syncdeck.db")
    }

    fn cmd(&self, args: &[&str]) -> Command {
        let mut c = Command::new(env!("CARGO_BIN_EXE_syncdeck"));
        c.args(args)
            .env_clear()
            .env("PATH", std::env::var("PATH").unwrap_or_default())
            .env("HOME", self.dir.path())
            .env("XDG_CONFIG_HOME", self.path("config"))
            .env("XDG_DATA_HOME", self.path("share"))
            .env("XDG_STATE_HOME", self.path("state"))
            .env(
                "SYNCDECK_DATABASE_URL",
                format!("sqlite://{}", self.db().display()),
            )
            .env("SYNCDECK_ENCRYPTION_KEY", &self.key)
            .env("ACME_KEY", CANARY)
            .env("BASIC_PW", CANARY_PW)
            .stdin(std::process::Stdio::null());
        c
    }

    fn run(&self, args: &[&str]) -> Output {
        self.cmd(args).output().unwrap()
    }

    fn write(&self, name: &str, text: &str) -> PathBuf {
        let p = self.path(name);
        std::fs::write(&p, text).unwrap();
        p
    }
}

fn text(b: &[u8]) -> String {
    String::from_utf8_lossy(b).into_owned()
}

fn ok(o: &Output) -> String {
    assert!(
        o.status.success(),
        "status {:?}\nstdout: {}\nstderr: {}",
        o.status,
        text(&o.stdout),
        text(&o.stderr)
    );
    text(&o.stdout)
}

fn basic_file(name: &str) -> String {
    format!(
        r#"name = "{name}"
type = "rest_api"
[connection]
base_url = "http://127.0.0.1:9"
[connection.auth]
kind = "basic"
username = "svc"
password = "env:BASIC_PW"
[source]
entity = "deals"
path = "/deals"
records = "$.deals[*]"
"#
    )
}

#[test]
fn import_list_show_export_delete() {
    let sb = Sandbox::new();
    let file = sb.write("acme.toml", &common::rest_file("Acme CRM", "ACME_KEY"));
    let out = ok(&sb.run(&["integration", "import", file.to_str().unwrap()]));
    assert!(out.contains("\"Acme CRM\" created"), "{out}");

    let list = ok(&sb.run(&["integration", "list"]));
    assert!(list.starts_with("NAME"), "{list}");
    assert!(
        list.contains("Acme CRM") && list.contains("Every 15 minutes") && list.contains("never"),
        "{list}"
    );

    let json: serde_json::Value =
        serde_json::from_str(&ok(&sb.run(&["integration", "list", "--json"]))).unwrap();
    assert_eq!(json[0]["name"], "Acme CRM");

    let show = ok(&sb.run(&["integration", "show", "Acme CRM", "--json"]));
    let v: serde_json::Value = serde_json::from_str(&show).unwrap();
    assert_eq!(v["credentials"][0]["field"], "connection.auth.secret");
    assert!(!show.contains(CANARY));

    let export = ok(&sb.run(&["integration", "export", "Acme CRM"]));
    assert!(export.contains("secret = \"prompt\""), "{export}");
    assert!(!export.contains(CANARY));

    // Importing the same name again needs --replace, and changes nothing without it.
    let again = sb.run(&["integration", "import", file.to_str().unwrap()]);
    assert_eq!(again.status.code(), Some(2));
    assert!(
        text(&again.stderr).contains("--replace"),
        "{}",
        text(&again.stderr)
    );
    ok(&sb.run(&["integration", "import", file.to_str().unwrap(), "--replace"]));

    let missing = sb.run(&["integration", "show", "Nope"]);
    assert_eq!(missing.status.code(), Some(2));
    assert!(text(&missing.stderr).contains("no integration named \"Nope\""));

    let refused = sb.run(&["integration", "delete", "Acme CRM"]);
    assert_eq!(refused.status.code(), Some(2), "no terminal and no --yes");
    ok(&sb.run(&["integration", "delete", "Acme CRM", "--yes"]));
    assert!(!ok(&sb.run(&["integration", "list"])).contains("Acme CRM"));
}

#[test]
fn import_export_import_gives_the_same_integration() {
    let sb = Sandbox::new();
    let file = sb.write("acme.toml", &common::rest_file("Round trip", "ACME_KEY"));
    ok(&sb.run(&["integration", "import", file.to_str().unwrap()]));
    let first = ok(&sb.run(&["integration", "export", "Round trip"]));
    // Into a second database, with the secret re-entered from the environment.
    let other = Sandbox::new();
    let copy = other.write(
        "copy.toml",
        &first.replace("secret = \"prompt\"", "secret = \"env:ACME_KEY\""),
    );
    ok(&other.run(&["integration", "import", copy.to_str().unwrap()]));
    let second = ok(&other.run(&["integration", "export", "Round trip"]));
    assert_eq!(first, second);
}

#[test]
fn invalid_files_change_nothing_and_list_every_error() {
    let sb = Sandbox::new();
    let good = sb.write("good.toml", &common::rest_file("Kept", "ACME_KEY"));
    ok(&sb.run(&["integration", "import", good.to_str().unwrap()]));
    let before = ok(&sb.run(&["integration", "export", "Kept"]));

    let bad = common::rest_file("Kept", "ACME_KEY")
        .replace("secret = \"env:ACME_KEY\"", "secret = \"hunter2-literal\"")
        .replace("timeout_secs = 5", "timeout_secs = -1")
        .replace("kind = \"page\"", "kind = \"sideways\"");
    let f = sb.write("bad.toml", &bad);
    let out = sb.run(&["integration", "import", f.to_str().unwrap(), "--replace"]);
    assert_eq!(out.status.code(), Some(2));
    let err = text(&out.stderr);
    let lines: Vec<&str> = err.lines().collect();
    assert_eq!(lines.len(), 3, "{err}");
    assert!(
        err.contains("connection.timeout_secs (line 7): must be at least 1"),
        "{err}"
    );
    assert!(
        err.contains("connection.auth.secret (line 13): a literal secret is not allowed"),
        "{err}"
    );
    assert!(err.contains("source.pagination.kind"), "{err}");
    assert!(!err.contains("hunter2-literal"));
    assert_eq!(ok(&sb.run(&["integration", "export", "Kept"])), before);

    // A missing environment variable and an unknown target type are errors too.
    let f = sb.write(
        "env.toml",
        &common::rest_file("New", "NOT_SET_ANYWHERE")
            .replace("shardTypeId = \"contact\"", "shardTypeId = \"ghost\""),
    );
    let out = sb.run(&["integration", "import", f.to_str().unwrap()]);
    assert_eq!(out.status.code(), Some(2));
    let err = text(&out.stderr);
    assert!(err.contains("NOT_SET_ANYWHERE is not set"), "{err}");
    assert!(
        err.contains("target type \"ghost\" is not defined"),
        "{err}"
    );
    assert!(!ok(&sb.run(&["integration", "list"])).contains("New"));

    // Prompting needs a terminal; without one the import stops before writing.
    let f = sb.write(
        "prompt.toml",
        &common::rest_file("Prompted", "X").replace("env:X", "prompt"),
    );
    let out = sb.run(&["integration", "import", f.to_str().unwrap()]);
    assert_eq!(out.status.code(), Some(2));
    assert!(text(&out.stderr).contains("needs a terminal"));
}

#[test]
fn secrets_from_files_and_schema_files_beside_the_integration() {
    let sb = Sandbox::new();
    sb.write("token.txt", &format!("{CANARY}\n"));
    sb.write(
        "s.json",
        r#"{"id":"s","name":"S","source":{"entity":"x"},"target":{"shardTypeId":"contact"},
            "fieldMappings":[{"targetField":"email","mappingType":"direct","config":{"type":"direct","sourceField":"email"}}],
            "deduplication":{"strategy":"external_id","externalIdField":"id"}}"#,
    );
    let text_file = common::rest_file("Files", "X").replace("env:X", "file:token.txt");
    let start = text_file.find("[schema]").unwrap();
    let end = text_file.find("[task]").unwrap();
    let text_file = format!(
        "{}[schema]\nfile = \"s.json\"\n\n{}",
        &text_file[..start],
        &text_file[end..]
    );
    let f = sb.write("files.toml", &text_file);
    ok(&sb.run(&["integration", "import", f.to_str().unwrap()]));
    let show: serde_json::Value =
        serde_json::from_str(&ok(&sb.run(&["integration", "show", "Files", "--json"]))).unwrap();
    assert!(show["schema_hash"].is_string());
}

#[test]
fn catalog_and_targets() {
    let sb = Sandbox::new();
    let list = ok(&sb.run(&["catalog", "list"]));
    assert!(
        list.contains("hubspot_contacts")
            && list.contains("superadmin only")
            && list.contains("webhook")
            && !list.contains("coming later"),
        "{list}"
    );
    let json: Vec<serde_json::Value> =
        serde_json::from_str(&ok(&sb.run(&["catalog", "list", "--json"]))).unwrap();
    assert!(json.len() >= 8);

    let targets = ok(&sb.run(&["targets", "list"]));
    for t in ["contact", "company", "opportunity", "news", "kpi_metric"] {
        assert!(targets.contains(t), "{targets}");
    }
    let f = sb.write(
        "invoice.toml",
        "name = \"invoice\"\ndescription = \"A bill\"\n[[fields]]\nname = \"total\"\ntype = \"number\"\nrequired = true\n",
    );
    ok(&sb.run(&["targets", "import", f.to_str().unwrap()]));
    assert_eq!(
        sb.run(&["targets", "import", f.to_str().unwrap()])
            .status
            .code(),
        Some(2)
    );
    let exported = ok(&sb.run(&["targets", "export", "invoice"]));
    assert!(exported.contains("name = \"total\""), "{exported}");
    let show = ok(&sb.run(&["targets", "show", "invoice"]));
    assert!(
        show.contains("total") && show.contains("required"),
        "{show}"
    );
}

#[test]
fn key_rotation_and_wrong_keys() {
    let sb = Sandbox::new();
    let a = sb.write("a.toml", &common::rest_file("Alpha", "ACME_KEY"));
    let b = sb.write("b.toml", &basic_file("Beta"));
    ok(&sb.run(&["integration", "import", a.to_str().unwrap()]));
    ok(&sb.run(&["integration", "import", b.to_str().unwrap()]));
    let status = ok(&sb.run(&["keys", "status"]));
    assert!(
        status.contains("primary") && status.contains("  2"),
        "{status}"
    );

    let rotated = ok(&sb.run(&["keys", "rotate"]));
    assert!(rotated.contains("re-encrypted 2 secret(s)"), "{rotated}");
    let status = ok(&sb.run(&["keys", "status"]));
    let primary_line = status.lines().find(|l| l.contains("primary")).unwrap();
    assert!(primary_line.trim_end().ends_with('2'), "{status}");

    // The secrets still open, under the new key, in the library.
    let rt = tokio::runtime::Runtime::new().unwrap();
    rt.block_on(async {
        let store = common::open(&format!("sqlite://{}", sb.db().display())).await;
        let loaded = syncdeck::secrets::load_key_ring(
            Some(common::TEST_KEY),
            &sb.path("share/syncdeck/keys.toml"),
        )
        .unwrap();
        let beta = store.get_integration("Beta").await.unwrap().unwrap();
        let sealed = store.credentials_of(&beta.id).await.unwrap();
        let secret = syncdeck::vault::open(&loaded.ring, "Beta", &beta.id, &sealed[0]).unwrap();
        assert_eq!(secret.expose(), CANARY_PW);
        // A ciphertext moved to another integration does not open.
        let alpha = store.get_integration("Alpha").await.unwrap().unwrap();
        assert!(syncdeck::vault::open(&loaded.ring, "Alpha", &alpha.id, &sealed[0]).is_err());
    });

    // Without the key file and with another key, nothing decrypts and nothing changes.
    std::fs::remove_file(sb.path("share/syncdeck/keys.toml")).unwrap();
    let wrong = Sandbox {
        key: "QUJDREVGR0hJSktMTU5PUFFSU1RVVldYWVowMTIzNDU=".into(),
        ..Sandbox::new()
    };
    let mut c = sb.cmd(&["keys", "rotate"]);
    c.env("SYNCDECK_ENCRYPTION_KEY", &wrong.key);
    let out = c.output().unwrap();
    assert_eq!(out.status.code(), Some(1));
    let err = text(&out.stderr);
    assert!(
        err.contains("cannot decrypt credentials of integration Alpha: key id"),
        "{err}"
    );
    assert!(err.contains("is not in the key ring"), "{err}");
}

#[test]
fn canary_secrets_never_reach_the_database_files_or_logs() {
    let sb = Sandbox::new();
    let a = sb.write("a.toml", &common::rest_file("Alpha", "ACME_KEY"));
    let b = sb.write("b.toml", &basic_file("Beta"));
    for f in [&a, &b] {
        let o = sb
            .cmd(&["-vv", "integration", "import", f.to_str().unwrap()])
            .output()
            .unwrap();
        ok(&o);
        assert!(!text(&o.stdout).contains(CANARY) && !text(&o.stderr).contains(CANARY));
    }
    ok(&sb.run(&["-vv", "keys", "rotate"]));
    ok(&sb.run(&["-vv", "integration", "show", "Beta"]));

    let mut scanned = Vec::new();
    for suffix in ["", "-wal", "-shm"] {
        let p = PathBuf::from(format!("{}{suffix}", sb.db().display()));
        if p.exists() {
            scanned.push(p);
        }
    }
    // The WAL is scanned when it is still there; SQLite checkpoints it into the
    // database file and removes it when the last connection closes cleanly.
    assert!(!scanned.is_empty(), "the database file exists: {scanned:?}");
    let logs = sb.path("state/syncdeck");
    let mut log_files = Vec::new();
    for e in std::fs::read_dir(&logs).unwrap() {
        log_files.push(e.unwrap().path());
    }
    assert!(!log_files.is_empty(), "the log directory has files");
    let log_bytes: usize = log_files
        .iter()
        .map(|p| std::fs::read(p).unwrap().len())
        .sum();
    assert!(log_bytes > 0, "something was logged");
    for p in scanned.iter().chain(log_files.iter()) {
        let bytes = std::fs::read(p).unwrap();
        for canary in [CANARY, CANARY_PW] {
            assert!(
                !contains(&bytes, canary.as_bytes()),
                "{canary} found in {}",
                p.display()
            );
        }
    }
}

fn contains(hay: &[u8], needle: &[u8]) -> bool {
    hay.windows(needle.len()).any(|w| w == needle)
}

#[test]
fn broken_config_and_bad_urls_fail_clearly() {
    let sb = Sandbox::new();
    let cfg = sb.write("bad.toml", "[engine]\nconcurrency = \"many\"\n");
    let out = sb.run(&["--config", cfg.to_str().unwrap(), "catalog", "list"]);
    assert_eq!(out.status.code(), Some(2));
    let err = text(&out.stderr);
    assert!(
        err.contains(&format!("config file {}, line 2, column 15", cfg.display())),
        "{err}"
    );

    let out = sb.run(&["--database", "mysql://x/y", "catalog", "list"]);
    assert_eq!(out.status.code(), Some(1));
    assert!(text(&out.stderr).contains("is not supported; use sqlite://PATH or postgres://"));
}

#[test]
fn db_migrate_reports_the_database() {
    let sb = Sandbox::new();
    let out = ok(&sb.run(&["db", "migrate"]));
    assert!(out.contains("up to date"), "{out}");
    assert!(Path::new(&sb.db()).exists());
}

#[test]
fn pause_resume_and_delete_are_audited_and_listed() {
    let sb = Sandbox::new();
    let file = sb.write("acme.toml", &common::rest_file("Acme CRM", "ACME_KEY"));
    ok(&sb.run(&["integration", "import", file.to_str().unwrap()]));

    let out = ok(&sb.run(&["integration", "pause", "Acme CRM"]));
    assert!(out.contains("\"Acme CRM\" paused"), "{out}");
    let list: serde_json::Value =
        serde_json::from_str(&ok(&sb.run(&["integration", "list", "--json"]))).unwrap();
    assert_eq!(list[0]["paused"], true, "{list}");
    ok(&sb.run(&["integration", "resume", "Acme CRM"]));
    let list: serde_json::Value =
        serde_json::from_str(&ok(&sb.run(&["integration", "list", "--json"]))).unwrap();
    assert_eq!(list[0]["paused"], false, "{list}");

    let missing = sb.run(&["integration", "pause", "Nope"]);
    assert_eq!(missing.status.code(), Some(2));
    assert!(
        text(&missing.stderr).contains("integration \"Nope\""),
        "{}",
        text(&missing.stderr)
    );

    ok(&sb.run(&["integration", "delete", "Acme CRM", "--yes"]));
    let audit: Vec<serde_json::Value> =
        serde_json::from_str(&ok(&sb.run(&["audit", "list", "--json"]))).unwrap();
    let actions: Vec<(&str, &str, &str)> = audit
        .iter()
        .map(|e| {
            (
                e["action"].as_str().unwrap(),
                e["subject"].as_str().unwrap(),
                e["detail"].as_str().unwrap(),
            )
        })
        .collect();
    assert_eq!(
        actions[..3],
        [
            ("integration.delete", "Acme CRM", "cli"),
            ("task.resume", "Acme CRM", "cli"),
            ("task.pause", "Acme CRM", "cli"),
        ],
        "newest first: {audit:?}"
    );
    let user = audit[0]["user"].as_str().unwrap().to_owned();
    let mine: Vec<serde_json::Value> = serde_json::from_str(&ok(
        &sb.run(&["audit", "list", "--actor", &user, "--since", "1h", "--json"])
    ))
    .unwrap();
    assert_eq!(mine.len(), audit.len());
    let nobody: Vec<serde_json::Value> = serde_json::from_str(&ok(
        &sb.run(&["audit", "list", "--actor", "nobody", "--json"])
    ))
    .unwrap();
    assert!(nobody.is_empty());
    let table = ok(&sb.run(&["audit", "list"]));
    assert!(
        table.starts_with("WHEN") && table.contains("task.pause"),
        "{table}"
    );
    let bad = sb.run(&["audit", "list", "--since", "yesterday"]);
    assert_eq!(bad.status.code(), Some(2));
    assert!(
        text(&bad.stderr).contains("--since"),
        "{}",
        text(&bad.stderr)
    );
}

/// Each problem of an imported file is one line that starts with the file and the line,
/// as compilers write theirs, then the key path: `FILE:LINE: key.path …: message`.
#[test]
fn import_problems_start_with_the_file_and_line() {
    let sb = Sandbox::new();
    let bad = common::rest_file("Lines", "ACME_KEY")
        .replace("timeout_secs = 5", "timeout_secs = -1")
        .replace(
            "base_url = \"http://127.0.0.1:9/api\"",
            "base_url = \"ftp://x\"",
        );
    let f = sb.write("lines.toml", &bad);
    let out = sb.run(&["integration", "import", f.to_str().unwrap()]);
    assert_eq!(out.status.code(), Some(2));
    let err = text(&out.stderr);
    let shown = f.display().to_string();
    assert_eq!(err.lines().count(), 2, "{err}");
    for (line, key, message) in [
        (
            6,
            "connection.base_url",
            "\"ftp://x\" is not an http:// or https:// URL",
        ),
        (7, "connection.timeout_secs", "must be at least 1, found -1"),
    ] {
        let found = err
            .lines()
            .find(|l| l.contains(&format!("{shown}:{line}: {key}")))
            .unwrap_or_else(|| panic!("no {shown}:{line}: {key} in {err}"));
        assert!(found.ends_with(&format!(": {message}")), "{err}");
    }
}

#[test]
fn targets_show_and_keys_status_print_json_without_secrets() {
    let sb = Sandbox::new();
    let a = sb.write("a.toml", &common::rest_file("Alpha", "ACME_KEY"));
    let b = sb.write("b.toml", &basic_file("Beta"));
    ok(&sb.run(&["integration", "import", a.to_str().unwrap()]));
    ok(&sb.run(&["integration", "import", b.to_str().unwrap()]));

    let shown: serde_json::Value =
        serde_json::from_str(&ok(&sb.run(&["targets", "show", "contact", "--json"]))).unwrap();
    assert_eq!(
        (&shown["name"], &shown["builtin"]),
        (&serde_json::json!("contact"), &serde_json::json!(true))
    );
    let fields = shown["fields"].as_array().unwrap();
    assert!(
        fields
            .iter()
            .any(|f| f["name"] == "email" && f["type"].is_string() && f["required"].is_boolean()),
        "{shown}"
    );
    let missing = sb.run(&["targets", "show", "ghost", "--json"]);
    assert_eq!(missing.status.code(), Some(2));
    assert!(
        text(&missing.stderr).contains("`syncdeck targets list`"),
        "{}",
        text(&missing.stderr)
    );

    let o = ok(&sb.run(&["keys", "status", "--json"]));
    assert!(!o.contains(CANARY) && !o.contains(CANARY_PW) && !o.contains(&sb.key));
    let status: serde_json::Value = serde_json::from_str(&o).unwrap();
    let keys = status["keys"].as_array().unwrap();
    let primary = keys.iter().find(|k| k["role"] == "primary").unwrap();
    assert_eq!(primary["key_id"], status["primary"]);
    assert_eq!(primary["secrets"], 2);
    assert_eq!(status["missing_secrets"], 0);

    ok(&sb.run(&["keys", "rotate"]));
    let after: serde_json::Value =
        serde_json::from_str(&ok(&sb.run(&["keys", "status", "--json"]))).unwrap();
    assert_ne!(after["primary"], status["primary"]);
    let audit: Vec<serde_json::Value> =
        serde_json::from_str(&ok(&sb.run(&["audit", "list", "--json"]))).unwrap();
    assert_eq!(
        (
            &audit[0]["action"],
            &audit[0]["subject"],
            &audit[0]["detail"]
        ),
        (
            &serde_json::json!("keys.rotate"),
            &after["primary"],
            &serde_json::json!("cli: 2 secrets")
        )
    );
}
