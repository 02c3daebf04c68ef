use std::path::{Path, PathBuf};

use clap::Subcommand;
use serde::Serialize;

use super::ops_failure::{failure, failure_in, problem_line};
use super::output::{errln, out, outln};
use super::{Context, Failure, output, prompt};
use crate::domain::integration_file::{
    self, CredentialInput, Field, IntegrationDraft, SchemaSource,
};
use crate::ops::integrations::Intent;
use crate::ops::{self, Origin};
use crate::secrets::SecretString;
use crate::store::{IntegrationQuery, SaveOutcome, Store, StoredIntegration};

#[derive(Debug, Subcommand)]
pub enum IntegrationCommand {
    /// Configured integrations, status and last sync.
    List {
        #[arg(long)]
        json: bool,
    },
    /// One integration in detail (secrets are never shown).
    Show {
        name: String,
        #[arg(long)]
        json: bool,
    },
    /// Create an integration from an integration file.
    Import {
        file: PathBuf,
        /// Overwrite an integration of the same name, keeping its history and records.
        #[arg(long)]
        replace: bool,
    },
    /// Test the connection; prints latency and what the server answered.
    Test {
        name: String,
        #[arg(long)]
        json: bool,
    },
    /// Write an integration as an integration file (secrets as `prompt`).
    Export { name: String },
    /// Stop the schedule of its task (runs asked for by hand still run).
    Pause { name: String },
    /// Forget the stored credentials and pause every task; configuration, schemas, tasks
    /// and history stay (import again with --replace, or edit it in the console, to
    /// reconnect).
    Disconnect { name: String },
    /// Restart the schedule of its task.
    Resume { name: String },
    /// Delete an integration with its task and history (stored records stay).
    Delete {
        name: String,
        #[arg(long)]
        yes: bool,
    },
}

pub async fn run(ctx: &Context, command: IntegrationCommand) -> anyhow::Result<i32> {
    let store = ctx.store().await?;
    match command {
        IntegrationCommand::List { json } => list(&store, json).await,
        IntegrationCommand::Show { name, json } => show(&store, &name, json).await,
        IntegrationCommand::Import { file, replace } => import(ctx, &store, &file, replace).await,
        IntegrationCommand::Export { name } => {
            let text = ops::files::export_integration(&store, &name)
                .await
                .map_err(failure)?;
            out!("{text}")?;
            Ok(0)
        }
        IntegrationCommand::Delete { name, yes } => delete(&store, &name, yes).await,
        IntegrationCommand::Pause { name } => set_paused(&store, &name, true).await,
        IntegrationCommand::Disconnect { name } => {
            let gone = ops::integrations::disconnect(&store, &name, Origin::Cli)
                .await
                .map_err(failure)?;
            outln!(
                "integration {name:?} disconnected: {gone} stored secret(s) forgotten, its tasks \
                 paused; import it again with --replace (or edit it in the console) to reconnect"
            )?;
            Ok(0)
        }
        IntegrationCommand::Resume { name } => set_paused(&store, &name, false).await,
        IntegrationCommand::Test { name, json } => {
            super::sync::test_connection(ctx, &name, json).await
        }
    }
}

async fn get(store: &Store, name: &str) -> anyhow::Result<StoredIntegration> {
    store.get_integration(name).await?.ok_or_else(|| {
        Failure::usage(format!(
            "no integration named {name:?}; `syncdeck integration list` shows them"
        ))
    })
}

async fn list(store: &Store, json: bool) -> anyhow::Result<i32> {
    let mut all = Vec::new();
    let mut q = IntegrationQuery {
        limit: 500,
        ..IntegrationQuery::default()
    };
    loop {
        let page = store.list_integrations(&q).await?;
        let n = page.items.len() as i64;
        all.extend(page.items);
        if n == 0 || q.offset + n >= page.total {
            break;
        }
        q.offset += n;
    }
    if json {
        output::print_json(&all)?;
        return Ok(0);
    }
    let now = crate::store::now_ms();
    let rows: Vec<Vec<String>> = all
        .iter()
        .map(|i| {
            vec![
                i.name.clone(),
                i.type_id.clone(),
                i.environment.to_string(),
                i.status_label().to_string(),
                match i.tasks {
                    0 => "no task".to_string(),
                    1 => i.schedule.describe(store.tenant()),
                    n => format!("{n} tasks"),
                },
                match (i.last_status, i.last_run_at) {
                    (Some(s), Some(t)) => format!("{s} {}", output::age(t, now)),
                    (Some(s), None) => s.to_string(),
                    _ => "never".into(),
                },
            ]
        })
        .collect();
    out!(
        "{}",
        output::table(
            &["NAME", "TYPE", "ENV", "STATUS", "SCHEDULE", "LAST SYNC"],
            &rows
        )
    )?;
    Ok(0)
}

#[derive(Serialize)]
struct ShowJson<'a> {
    id: &'a str,
    name: &'a str,
    #[serde(rename = "type")]
    type_id: &'a str,
    environment: &'a str,
    enabled: bool,
    paused: bool,
    connection: &'a crate::domain::integration::Connection,
    /// The first entity's source, schedule, task and schema hash, as for an
    /// integration with one of each; `entities` and `tasks` list them all.
    source: Option<&'a crate::domain::integration::Source>,
    schedule: Option<String>,
    next_run_at: Option<i64>,
    task: Option<&'a crate::domain::integration::TaskSpec>,
    schema_hash: Option<&'a str>,
    entities: Vec<EntityJson<'a>>,
    tasks: Vec<TaskJson<'a>>,
    credentials: Vec<CredentialJson<'a>>,
    executions: Vec<ExecutionJson>,
}

#[derive(Serialize)]
struct EntityJson<'a> {
    id: &'a str,
    name: &'a str,
    source: &'a crate::domain::integration::Source,
    target_type: Option<&'a str>,
    schema_hash: Option<&'a str>,
}

#[derive(Serialize)]
struct TaskJson<'a> {
    id: &'a str,
    #[serde(flatten)]
    spec: &'a crate::domain::integration::TaskSpec,
    schedule_words: String,
    paused: bool,
    next_run_at: Option<i64>,
}

#[derive(Serialize)]
struct CredentialJson<'a> {
    field: &'a str,
    key_id: &'a str,
}

#[derive(Serialize)]
struct ExecutionJson {
    id: String,
    status: String,
    queued_at: i64,
    finished_at: Option<i64>,
    created: i64,
    updated: i64,
    failed: i64,
}

async fn show(store: &Store, name: &str, json: bool) -> anyhow::Result<i32> {
    let i = get(store, name).await?;
    let executions = store.list_executions(Some(&i.id), 20).await?;
    if json {
        output::print_json(&ShowJson {
            id: &i.id,
            name: i.spec.name.as_str(),
            type_id: &i.spec.type_id,
            environment: i.spec.environment.as_str(),
            enabled: i.spec.enabled,
            paused: i.paused(),
            connection: &i.spec.connection,
            source: i.spec.first_entity().map(|e| &e.source),
            schedule: i
                .spec
                .first_task()
                .map(|t| t.schedule.describe(store.tenant())),
            next_run_at: i.tasks.first().and_then(|t| t.next_run_at),
            task: i.spec.first_task(),
            schema_hash: i.entities.first().and_then(|e| e.schema_hash.as_deref()),
            entities: i
                .spec
                .entities
                .iter()
                .zip(&i.entities)
                .map(|(spec, stored)| EntityJson {
                    id: &stored.id,
                    name: spec.name(),
                    source: &spec.source,
                    target_type: spec.target_type(),
                    schema_hash: stored.schema_hash.as_deref(),
                })
                .collect(),
            tasks: i
                .spec
                .tasks
                .iter()
                .zip(&i.tasks)
                .map(|(spec, stored)| TaskJson {
                    id: &stored.id,
                    spec,
                    schedule_words: spec.schedule.describe(store.tenant()),
                    paused: stored.paused,
                    next_run_at: stored.next_run_at,
                })
                .collect(),
            credentials: i
                .credential_fields
                .iter()
                .map(|(f, k)| CredentialJson {
                    field: f,
                    key_id: k,
                })
                .collect(),
            executions: executions
                .iter()
                .map(|e| ExecutionJson {
                    id: e.id.clone(),
                    status: e.status.to_string(),
                    queued_at: e.queued_at,
                    finished_at: e.finished_at,
                    created: e.created,
                    updated: e.updated,
                    failed: e.failed,
                })
                .collect(),
        })?;
        return Ok(0);
    }
    let s = &i.spec;
    outln!("name         {}", s.name)?;
    outln!("id           {}", i.id)?;
    outln!("type         {}", s.type_id)?;
    outln!("environment  {}", s.environment)?;
    outln!(
        "status       {}",
        if !s.enabled {
            "disabled"
        } else if i.paused() {
            "paused"
        } else {
            "active"
        }
    )?;
    if let Some(url) = &s.connection.base_url {
        outln!("base url     {url}")?;
    }
    if let Some(path) = &s.connection.path {
        outln!("path         {path}")?;
    }
    if let Some(auth) = &s.connection.auth {
        outln!("auth         {}", auth.kind.as_str())?;
    }
    for (field, key_id) in &i.credential_fields {
        outln!("credential   {field} = •••• (encrypted with key {key_id})")?;
    }
    for e in &s.entities {
        let schema = match &e.schema {
            Some(schema) => format!(
                "→ {} (schema {}, {} field mappings)",
                e.target_type().unwrap_or("?"),
                schema
                    .get("name")
                    .and_then(|v| v.as_str())
                    .unwrap_or("unnamed"),
                schema
                    .get("fieldMappings")
                    .and_then(|v| v.as_array())
                    .map_or(0, Vec::len)
            ),
            None => "→ no schema yet".to_string(),
        };
        outln!(
            "entity       {}: {} {} {} {schema}",
            e.name(),
            e.source.method,
            e.source.path.as_deref().unwrap_or(""),
            e.source.records.as_deref().unwrap_or("")
        )?;
    }
    if s.tasks.is_empty() {
        outln!("tasks        none")?;
    }
    for (t, stored) in s.tasks.iter().zip(&i.tasks) {
        outln!(
            "task         {}: {} → {}{}",
            t.name,
            t.entity,
            t.schedule.describe(store.tenant()),
            if stored.paused { " (paused)" } else { "" }
        )?;
    }
    if executions.is_empty() {
        outln!("executions   none yet")?;
    } else {
        let now = crate::store::now_ms();
        let rows: Vec<Vec<String>> = executions
            .iter()
            .map(|e| {
                vec![
                    e.id.clone(),
                    e.status.to_string(),
                    output::age(e.queued_at, now),
                    e.created.to_string(),
                    e.updated.to_string(),
                    e.failed.to_string(),
                ]
            })
            .collect();
        outln!()?;
        out!(
            "{}",
            output::table(
                &[
                    "EXECUTION",
                    "STATUS",
                    "QUEUED",
                    "CREATED",
                    "UPDATED",
                    "FAILED"
                ],
                &rows
            )
        )?;
    }
    Ok(0)
}

/// Reads the schema a file names, relative to the integration file; `key` is where the
/// file names it (`schema`, `entities[1].schema`).
fn read_schema_file(base: &Path, file: &str, key: &str) -> Result<serde_json::Value, String> {
    let path = base.join(file);
    let text = std::fs::read_to_string(&path)
        .map_err(|e| format!("{key}.file: cannot read {}: {e}", path.display()))?;
    let is_toml = path.extension().is_some_and(|e| e == "toml");
    if is_toml {
        let t: toml::Table = text.parse().map_err(|e: toml::de::Error| {
            format!(
                "{key}.file: {} is not valid TOML: {}",
                path.display(),
                e.message()
            )
        })?;
        Ok(crate::domain::toml_walk::toml_to_json(&toml::Value::Table(
            t,
        )))
    } else {
        serde_json::from_str(&text)
            .map_err(|e| format!("{key}.file: {} is not valid JSON: {e}", path.display()))
    }
}

fn resolve_secret(
    base: &Path,
    field: Field,
    input: &CredentialInput,
) -> Result<Option<SecretString>, String> {
    let path = field.key();
    match input {
        CredentialInput::Env(name) => match std::env::var(name) {
            Ok(v) if !v.is_empty() => Ok(Some(SecretString::new(v))),
            _ => Err(format!(
                "{path}: the environment variable {name} is not set; export it before importing"
            )),
        },
        CredentialInput::File(file) => {
            let p = base.join(file);
            match std::fs::read_to_string(&p) {
                Ok(v) if !v.trim().is_empty() => Ok(Some(SecretString::new(
                    v.trim_end_matches(['\n', '\r']).to_string(),
                ))),
                Ok(_) => Err(format!("{path}: the file {} is empty", p.display())),
                Err(e) => Err(format!("{path}: cannot read {}: {e}", p.display())),
            }
        }
        CredentialInput::Prompt => {
            if super::stdin_is_terminal() {
                Ok(None)
            } else {
                Err(format!(
                    "{path} = \"prompt\" needs a terminal to ask on; in scripts use \"env:NAME\" or \"file:PATH\""
                ))
            }
        }
        CredentialInput::New | CredentialInput::Keep => Err(format!(
            "{path}: write a reference: \"env:NAME\", \"file:PATH\" or \"prompt\""
        )),
    }
}

/// Imports an integration file exactly as `syncdeck integration import FILE` does.
pub(crate) async fn import(
    ctx: &Context,
    store: &Store,
    file: &Path,
    replace: bool,
) -> anyhow::Result<i32> {
    let shown = file.display().to_string();
    let text = std::fs::read_to_string(file)
        .map_err(|e| Failure::usage(format!("cannot read {shown}: {e}")))?;
    let base = file.parent().unwrap_or(Path::new("."));
    let known = store.catalog_types().await?;
    let mut draft: IntegrationDraft =
        integration_file::parse(&text, &known).map_err(|problems| {
            Failure::invalid(
                problems
                    .iter()
                    .map(|p| problem_line(Some(&shown), p))
                    .collect(),
            )
        })?;
    let intent = if replace {
        Intent::CreateOrReplace
    } else {
        Intent::Create
    };

    // Everything is checked before anything is written or asked for.
    let mut problems = Vec::new();
    let listed = draft.listed;
    for (i, source) in draft.schemas.clone().iter().enumerate() {
        let key = if listed {
            format!("entities[{i}].schema")
        } else {
            "schema".to_string()
        };
        if let SchemaSource::File(f) = source {
            match read_schema_file(base, f, &key) {
                Ok(v) => draft.spec.entities[i].schema = Some(v),
                Err(e) => problems.push(e),
            }
        }
        if let Some(schema) = &draft.spec.entities[i].schema {
            problems.extend(
                ops::schema::problems_at(store, schema, &key)
                    .await
                    .map_err(failure)?,
            );
        }
    }
    let mut secrets = Vec::new();
    for (field, input) in &draft.secrets {
        match resolve_secret(base, *field, input) {
            Ok(v) => secrets.push((*field, v)),
            Err(e) => problems.push(e),
        }
    }
    let name = draft.spec.name.as_str().to_string();
    if let Some(taken) = ops::integrations::name_problem(store, &name, intent)
        .await
        .map_err(failure)?
    {
        problems.push(format!(
            "{taken}; pass --replace to overwrite it (its history and records are kept)"
        ));
    }
    if !problems.is_empty() {
        return Err(Failure::invalid(
            problems.iter().map(|p| format!("{shown}: {p}")).collect(),
        ));
    }

    let ring = ctx.key_ring()?;
    let mut values = Vec::new();
    for (field, value) in secrets {
        let value = match value {
            Some(v) => v,
            None => prompt::secret(&format!("{name} {field}"))?,
        };
        if value.is_empty() {
            return Err(Failure::usage(format!(
                "{shown}: {field}: the secret is empty"
            )));
        }
        values.push((field, value));
    }
    let saved = ops::integrations::save(store, &ring, &draft, &values, intent, Origin::Cli)
        .await
        .map_err(|e| failure_in(&shown, e))?;
    let verb = match saved.outcome {
        SaveOutcome::Created => "created",
        SaveOutcome::Replaced => "replaced",
    };
    outln!("integration {name:?} {verb}")?;
    let tenant = &ctx.resolved.config.tenant;
    for e in &saved.endpoints {
        outln!(
            "endpoint {} created for task {:?}",
            crate::domain::webhook::url_path(tenant, &e.path),
            e.task
        )?;
        outln!("secret: {}", e.secret.expose())?;
        errln!("the secret is shown this once; give it to the sender now");
    }
    Ok(0)
}

async fn delete(store: &Store, name: &str, yes: bool) -> anyhow::Result<i32> {
    get(store, name).await?;
    if !yes {
        if !super::stdin_is_terminal() {
            return Err(Failure::usage(format!(
                "deleting {name:?} needs confirmation; pass --yes"
            )));
        }
        if !prompt::confirm(&format!(
            "Delete integration {name:?} with its task, credentials and history? Stored records stay."
        ))? {
            errln!("not deleted");
            return Ok(1);
        }
    }
    ops::integrations::delete(store, name, Origin::Cli)
        .await
        .map_err(failure)?;
    outln!("integration {name:?} deleted")?;
    Ok(0)
}

async fn set_paused(store: &Store, name: &str, paused: bool) -> anyhow::Result<i32> {
    ops::integrations::set_paused(store, name, paused, Origin::Cli)
        .await
        .map_err(failure)?;
    if paused {
        outln!(
            "integration {name:?} paused: its schedule runs nothing until `syncdeck integration resume`"
        )?;
    } else {
        outln!("integration {name:?} resumed")?;
    }
    Ok(0)
}
