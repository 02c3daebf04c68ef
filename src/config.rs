//! Typed configuration: built-in defaults < config file < environment < flags
//! (shared/specs/cli.md). Every key is documented in `config.example.toml`.

use std::path::{Path, PathBuf};

use serde::Deserialize;

#[derive(Debug, Clone, PartialEq, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct Config {
    /// `sqlite://PATH` or `postgres://…`; empty means a SQLite file in the data directory.
    pub database_url: Option<String>,
    /// Where the database, the key file and demo data live.
    pub data_dir: Option<PathBuf>,
    /// Where log files are written.
    pub state_dir: Option<PathBuf>,
    /// The key file used when `SYNCDECK_ENCRYPTION_KEY` is not set.
    pub key_file: Option<PathBuf>,
    /// The user shown in the console and recorded in the audit log.
    pub user: Option<String>,
    pub tenant: String,
    pub log: LogConfig,
    pub engine: EngineConfig,
    pub retry: RetryConfig,
    pub circuit: CircuitConfig,
    pub tui: TuiConfig,
    pub serve: ServeConfig,
}

/// `syncdeck serve`: the inbound webhook server.
#[derive(Debug, Clone, PartialEq, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct ServeConfig {
    /// Address to listen on (`--listen` overrides it).
    pub listen: String,
    /// Peers (addresses or CIDR blocks) whose `X-Forwarded-For` is believed.
    pub trusted_proxies: Vec<String>,
    /// A lone delivery waits this many milliseconds for others to share its commit
    /// (a group is otherwise every delivery that arrived during the previous commit).
    pub group_commit_ms: u64,
    /// At most this many deliveries in one commit.
    pub group_commit_max: usize,
    /// Delivery ids (and ended deliveries) are kept this many days.
    pub keep_deliveries_days: u64,
    /// A rotated-out secret stays valid this many hours.
    pub rotation_overlap_hours: u64,
    /// Deliveries processed at once by this process.
    pub workers: usize,
    /// How long a claimed delivery is held before another process may take it.
    pub lease_secs: u64,
    /// Seconds a graceful stop waits for requests being answered.
    pub shutdown_secs: u64,
    /// Milliseconds an endpoint's settings and secrets are reused before they are read
    /// again (a signature that fails is checked against a fresh read at once).
    pub endpoint_cache_ms: u64,
}

#[derive(Debug, Clone, PartialEq, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct LogConfig {
    pub level: String,
    pub retention_days: usize,
}

#[derive(Debug, Clone, PartialEq, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct EngineConfig {
    pub concurrency: usize,
    pub lease_secs: u64,
    pub poll_ms: u64,
    pub batch_size: usize,
    pub request_timeout_secs: u64,
    pub max_response_bytes: u64,
}

#[derive(Debug, Clone, PartialEq, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct RetryConfig {
    pub max_retries: u32,
    pub base_delay_ms: u64,
    pub factor: f64,
}

#[derive(Debug, Clone, PartialEq, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct CircuitConfig {
    pub failure_threshold: u32,
    pub open_secs: u64,
    pub close_after: u32,
}

#[derive(Debug, Clone, PartialEq, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct TuiConfig {
    pub tick_ms: u64,
    pub theme: Option<PathBuf>,
    /// Key overrides, merged over `assets/keymap.toml`: `action = "key"`.
    pub keys: toml::Table,
}

impl Default for Config {
    fn default() -> Self {
        Self {
            database_url: None,
            data_dir: None,
            state_dir: None,
            key_file: None,
            user: None,
            tenant: "default".into(),
            log: LogConfig::default(),
            engine: EngineConfig::default(),
            retry: RetryConfig::default(),
            circuit: CircuitConfig::default(),
            tui: TuiConfig::default(),
            serve: ServeConfig::default(),
        }
    }
}

impl Default for ServeConfig {
    fn default() -> Self {
        Self {
            listen: "127.0.0.1:8480".into(),
            trusted_proxies: Vec::new(),
            group_commit_ms: 2,
            group_commit_max: 256,
            keep_deliveries_days: 7,
            rotation_overlap_hours: 24,
            workers: 2,
            lease_secs: 60,
            shutdown_secs: 10,
            endpoint_cache_ms: 1000,
        }
    }
}

impl Default for LogConfig {
    fn default() -> Self {
        Self {
            level: "info".into(),
            retention_days: 14,
        }
    }
}

impl Default for EngineConfig {
    fn default() -> Self {
        Self {
            concurrency: 4,
            lease_secs: 30,
            poll_ms: 500,
            batch_size: 1000,
            request_timeout_secs: 30,
            max_response_bytes: 64 * 1024 * 1024,
        }
    }
}

impl Default for RetryConfig {
    fn default() -> Self {
        Self {
            max_retries: 5,
            base_delay_ms: 500,
            factor: 2.0,
        }
    }
}

impl Default for CircuitConfig {
    fn default() -> Self {
        Self {
            failure_threshold: 5,
            open_secs: 60,
            close_after: 3,
        }
    }
}

impl Default for TuiConfig {
    fn default() -> Self {
        Self {
            tick_ms: 250,
            theme: None,
            keys: toml::Table::new(),
        }
    }
}

#[derive(Debug, thiserror::Error)]
pub enum ConfigError {
    #[error("cannot read config file {path}: {source}")]
    Read {
        path: PathBuf,
        source: std::io::Error,
    },
    #[error("config file {path}, line {line}, column {column}: {message}")]
    Invalid {
        path: PathBuf,
        line: usize,
        column: usize,
        message: String,
    },
    #[error("config file {path}: {message}")]
    InvalidNoPosition { path: PathBuf, message: String },
}

/// The environment the process sees, read once (tests pass their own).
#[derive(Debug, Clone, Default)]
pub struct Env {
    pub config: Option<String>,
    pub database_url: Option<String>,
    pub xdg_config_home: Option<String>,
    pub xdg_data_home: Option<String>,
    pub xdg_state_home: Option<String>,
    pub home: Option<String>,
    pub user: Option<String>,
}

impl Env {
    pub fn from_process() -> Self {
        let get = |k: &str| std::env::var(k).ok().filter(|v| !v.is_empty());
        Self {
            config: get("SYNCDECK_CONFIG"),
            database_url: get("SYNCDECK_DATABASE_URL"),
            xdg_config_home: get("XDG_CONFIG_HOME"),
            xdg_data_home: get("XDG_DATA_HOME"),
            xdg_state_home: get("XDG_STATE_HOME"),
            home: get("HOME"),
            user: get("USER"),
        }
    }

    fn home_dir(&self, xdg: &Option<String>, fallback: &str) -> PathBuf {
        match (xdg, &self.home) {
            (Some(x), _) => PathBuf::from(x),
            (None, Some(h)) => Path::new(h).join(fallback),
            (None, None) => PathBuf::from(".").join(fallback),
        }
    }
}

/// Options given on the command line; they win over everything else.
#[derive(Debug, Clone, Default)]
pub struct Flags {
    pub config: Option<PathBuf>,
    pub database: Option<String>,
}

/// The configuration with every default and path decided.
#[derive(Debug, Clone)]
pub struct Resolved {
    pub config: Config,
    /// The config file that was read, if any.
    pub config_file: Option<PathBuf>,
    pub database_url: String,
    pub data_dir: PathBuf,
    pub state_dir: PathBuf,
    pub key_file: PathBuf,
    pub user: String,
}

impl Config {
    pub fn parse(text: &str, path: &Path) -> Result<Config, ConfigError> {
        toml::from_str(text).map_err(|e| match e.span() {
            Some(span) => {
                let (line, column) = line_col(text, span.start);
                ConfigError::Invalid {
                    path: path.to_path_buf(),
                    line,
                    column,
                    message: e.message().trim().to_string(),
                }
            }
            None => ConfigError::InvalidNoPosition {
                path: path.to_path_buf(),
                message: e.message().trim().to_string(),
            },
        })
    }

    pub fn load(path: &Path) -> Result<Config, ConfigError> {
        let text = std::fs::read_to_string(path).map_err(|source| ConfigError::Read {
            path: path.to_path_buf(),
            source,
        })?;
        Self::parse(&text, path)
    }
}

fn line_col(text: &str, offset: usize) -> (usize, usize) {
    let before = &text[..offset.min(text.len())];
    let line = before.matches('\n').count() + 1;
    let column = before.rsplit('\n').next().map_or(0, |l| l.chars().count()) + 1;
    (line, column)
}

/// Decides the configuration: flags > environment > config file > defaults.
pub fn resolve(flags: &Flags, env: &Env) -> Result<Resolved, ConfigError> {
    let explicit = flags
        .config
        .clone()
        .or_else(|| env.config.as_ref().map(PathBuf::from));
    let default_file = env
        .home_dir(&env.xdg_config_home, ".config")
        .join("syncdeck/config.toml");
    let (config, config_file) = match explicit {
        // A file the user named must exist.
        Some(path) => (Config::load(&path)?, Some(path)),
        None if default_file.exists() => (Config::load(&default_file)?, Some(default_file)),
        None => (Config::default(), None),
    };
    let data_dir = config.data_dir.clone().unwrap_or_else(|| {
        env.home_dir(&env.xdg_data_home, ".local/share")
            .join("syncdeck")
    });
    let state_dir = config.state_dir.clone().unwrap_or_else(|| {
        env.home_dir(&env.xdg_state_home, ".local/state")
            .join("syncdeck")
    });
    let database_url = flags
        .database
        .clone()
        .or_else(|| env.database_url.clone())
        .or_else(|| config.database_url.clone())
        .unwrap_or_else(|| format!("sqlite://{}", data_dir.join("syncdeck.db").display()));
    let key_file = config
        .key_file
        .clone()
        .unwrap_or_else(|| data_dir.join("keys.toml"));
    let user = config
        .user
        .clone()
        .or_else(|| env.user.clone())
        .unwrap_or_else(|| "operator".into());
    Ok(Resolved {
        config,
        config_file,
        database_url,
        data_dir,
        state_dir,
        key_file,
        user,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_example_config_parses_and_sets_every_key() {
        let text = include_str!("../config.example.toml");
        let c = Config::parse(text, Path::new("config.example.toml")).unwrap();
        // The example documents every key; uncommented, it must differ from nothing
        // it claims and must parse with deny_unknown_fields.
        assert_eq!(c.engine.max_response_bytes, 64 * 1024 * 1024);
        assert_eq!(c.circuit.failure_threshold, 5);
        assert_eq!(c.log.retention_days, 14);
    }

    #[test]
    fn broken_config_names_path_line_and_column() {
        let err = Config::parse(
            "[log]\nretention_days = \"two\"\n",
            Path::new("/etc/x.toml"),
        )
        .unwrap_err()
        .to_string();
        assert!(
            err.starts_with("config file /etc/x.toml, line 2, column 18:"),
            "{err}"
        );
        assert!(err.contains("expected"), "{err}");
        let err = Config::parse("colour = 1\n", Path::new("c.toml"))
            .unwrap_err()
            .to_string();
        assert!(err.contains("unknown field `colour`"), "{err}");
    }

    #[test]
    fn flags_beat_environment_beat_file() {
        let dir = tempfile::tempdir().unwrap();
        let file = dir.path().join("c.toml");
        std::fs::write(
            &file,
            "database_url = \"sqlite://from-file.db\"\nuser = \"filed\"\n",
        )
        .unwrap();
        let env = Env {
            config: Some(file.display().to_string()),
            database_url: Some("sqlite://from-env.db".into()),
            home: Some("/home/u".into()),
            user: Some("envuser".into()),
            ..Env::default()
        };
        let r = resolve(&Flags::default(), &env).unwrap();
        assert_eq!(r.database_url, "sqlite://from-env.db");
        assert_eq!(r.user, "filed");
        let r = resolve(
            &Flags {
                database: Some("postgres://x/y".into()),
                ..Flags::default()
            },
            &env,
        )
        .unwrap();
        assert_eq!(r.database_url, "postgres://x/y");
        let env_no_db = Env {
            database_url: None,
            ..env
        };
        let r = resolve(&Flags::default(), &env_no_db).unwrap();
        assert_eq!(r.database_url, "sqlite://from-file.db");
    }

    #[test]
    fn defaults_follow_xdg() {
        let env = Env {
            home: Some("/home/u".into()),
            xdg_data_home: Some("/data".into()),
            ..Env::default()
        };
        let r = resolve(&Flags::default(), &env).unwrap();
        assert_eq!(r.database_url, "sqlite:///data/syncdeck/syncdeck.db");
        assert_eq!(r.state_dir, PathBuf::from("/home/u/.local/state/syncdeck"));
        assert_eq!(r.key_file, PathBuf::from("/data/syncdeck/keys.toml"));
        assert!(r.config_file.is_none());
    }

    #[test]
    fn a_named_config_file_must_exist() {
        let flags = Flags {
            config: Some("/nonexistent/syncdeck.toml".into()),
            ..Flags::default()
        };
        let err = resolve(&flags, &Env::default()).unwrap_err().to_string();
        assert!(
            err.starts_with("cannot read config file /nonexistent/syncdeck.toml"),
            "{err}"
        );
    }
}
