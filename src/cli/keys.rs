use clap::Subcommand;
use serde::Serialize;

use super::ops_failure::failure;
use super::output::{errln, out, outln};
use super::{Context, output};
use crate::ops::keys::KeyRole;
use crate::ops::{self, Origin};

#[derive(Debug, Subcommand)]
pub enum KeysCommand {
    /// Which key ids encrypt how many secrets.
    Status {
        #[arg(long)]
        json: bool,
    },
    /// Add a new key and re-encrypt every secret with it (one transaction).
    Rotate,
}

/// `keys status --json`: every key with its role and how many secrets it seals, and
/// how many secrets use keys missing from the ring.
#[derive(Serialize)]
struct StatusJson<'a> {
    primary: &'a str,
    keys: &'a [ops::keys::KeyStatus],
    missing_secrets: i64,
}

pub async fn run(ctx: &Context, command: KeysCommand) -> anyhow::Result<i32> {
    let store = ctx.store().await?;
    let ring = ctx.key_ring()?;
    match command {
        KeysCommand::Status { json } => {
            let keys = ops::keys::status(&store, &ring).await.map_err(failure)?;
            let missing: i64 = keys
                .iter()
                .filter(|k| k.role == KeyRole::Missing)
                .map(|k| k.secrets)
                .sum();
            if json {
                output::print_json(&StatusJson {
                    primary: ring.primary_id(),
                    keys: &keys,
                    missing_secrets: missing,
                })?;
            } else {
                let rows: Vec<Vec<String>> = keys
                    .iter()
                    .map(|k| {
                        let role = match k.role {
                            KeyRole::Missing => "MISSING",
                            other => other.as_str(),
                        };
                        vec![k.key_id.clone(), role.into(), k.secrets.to_string()]
                    })
                    .collect();
                out!("{}", output::table(&["KEY ID", "ROLE", "SECRETS"], &rows))?;
            }
            if missing > 0 {
                errln!(
                    "{missing} secret(s) use keys that are not in the key ring: set SYNCDECK_ENCRYPTION_KEY \
                     to the key that encrypted them, or restore the key file {}",
                    ctx.resolved.key_file.display()
                );
                return Ok(1);
            }
            Ok(0)
        }
        KeysCommand::Rotate => {
            let rotated = ops::keys::rotate(&store, &ring, &ctx.resolved.key_file, Origin::Cli)
                .await
                .map_err(failure)?;
            outln!(
                "new primary key {}; re-encrypted {} secret(s); removed unused keys: {}",
                rotated.primary,
                rotated.resealed,
                if rotated.removed.is_empty() {
                    "none".to_string()
                } else {
                    rotated.removed.join(", ")
                }
            )?;
            if std::env::var("SYNCDECK_ENCRYPTION_KEY").is_ok_and(|k| !k.is_empty()) {
                errln!(
                    "note: the new key lives in {}; SYNCDECK_ENCRYPTION_KEY is no longer needed for these secrets",
                    ctx.resolved.key_file.display()
                );
            }
            Ok(0)
        }
    }
}
