//! `currency_rates`: the platform's exchange rates, which `currency_convert` reads when
//! its config gives no `rate`. The platform keeps the table; syncdeck reads it, and
//! writes it only through [`Store::put_currency_rate`] (tests, scripts).

use std::collections::HashMap;

use sqlx::Row;

use super::{Result, Store, now_ms};

/// `(from, to)` → how many units of `to` one unit of `from` is worth.
pub type Rates = HashMap<(String, String), f64>;

impl Store {
    /// Every stored rate. Read at the start of each run and each preview: the table is
    /// small (a row per currency pair).
    pub async fn currency_rates(&self) -> Result<Rates> {
        let rows = sqlx::query("SELECT from_code, to_code, rate FROM currency_rates")
            .fetch_all(&self.pool)
            .await?;
        rows.iter()
            .map(|r| {
                Ok((
                    (r.try_get("from_code")?, r.try_get("to_code")?),
                    r.try_get("rate")?,
                ))
            })
            .collect()
    }

    /// Stores the rate of one pair, replacing an older one.
    pub async fn put_currency_rate(&self, from: &str, to: &str, rate: f64) -> Result<()> {
        sqlx::query(
            "INSERT INTO currency_rates (from_code, to_code, rate, updated_at) \
             VALUES ($1, $2, $3, $4) ON CONFLICT (from_code, to_code) \
             DO UPDATE SET rate = excluded.rate, updated_at = excluded.updated_at",
        )
        .bind(from)
        .bind(to)
        .bind(rate)
        .bind(now_ms())
        .execute(&self.pool)
        .await?;
        Ok(())
    }
}
