use clap::Subcommand;

use super::output::{errln, out, outln};
use super::{Context, Failure, output};

#[derive(Debug, Subcommand)]
pub enum KeysCommand {
    /// Which key ids encrypt how many secrets.
    Status,
    /// Add a new key and re-encrypt every secret with it (one transaction).
    Rotate,
}

pub async fn run(ctx: &Context, command: KeysCommand) -> anyhow::Result<i32> {
    let store = ctx.store().await?;
    let ring = ctx.key_ring()?;
    match command {
        KeysCommand::Status => {
            let usage = store.key_usage().await?;
            let mut rows = Vec::new();
            for id in ring.ids() {
                let n = usage
                    .iter()
                    .find(|u| u.key_id == id)
                    .map_or(0, |u| u.secrets);
                let role = if id == ring.primary_id() {
                    "primary"
                } else {
                    "old"
                };
                rows.push(vec![id.to_string(), role.into(), n.to_string()]);
            }
            let mut missing = 0;
            for u in &usage {
                if !ring.contains(&u.key_id) {
                    missing += u.secrets;
                    rows.push(vec![
                        u.key_id.clone(),
                        "MISSING".into(),
                        u.secrets.to_string(),
                    ]);
                }
            }
            out!("{}", output::table(&["KEY ID", "ROLE", "SECRETS"], &rows))?;
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
            let credentials = store.all_credentials().await?;
            // Open everything first: a secret that cannot be read stops the rotation
            // before anything changes.
            let mut plain = Vec::new();
            for c in &credentials {
                let secret =
                    crate::vault::open(&ring, &c.integration_name, &c.integration_id, &c.sealed)
                        .map_err(Failure::runtime)?;
                plain.push((c, secret));
            }
            // The new key is on disk before any ciphertext that needs it is committed.
            let new_ring = crate::secrets::add_rotated_key(&ctx.resolved.key_file, &ring)
                .map_err(Failure::runtime)?;
            let mut updates = Vec::new();
            for (c, secret) in &plain {
                let sealed =
                    crate::vault::seal(&new_ring, &c.integration_id, &c.sealed.field, secret)
                        .map_err(Failure::runtime)?;
                updates.push((c.id.clone(), sealed));
            }
            store.reseal_credentials(&updates).await?;
            let in_use: Vec<String> = store
                .key_usage()
                .await?
                .into_iter()
                .map(|u| u.key_id)
                .collect();
            let keep: Vec<&str> = in_use.iter().map(String::as_str).collect();
            let removed = crate::secrets::prune_keys(&ctx.resolved.key_file, &keep)
                .map_err(Failure::runtime)?;
            store
                .audit(
                    "keys.rotate",
                    new_ring.primary_id(),
                    &format!("{} secrets", updates.len()),
                )
                .await?;
            outln!(
                "new primary key {}; re-encrypted {} secret(s); removed unused keys: {}",
                new_ring.primary_id(),
                updates.len(),
                if removed.is_empty() {
                    "none".to_string()
                } else {
                    removed.join(", ")
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
