//! The sample API's data: generated from a seed, so the same seed and date always give
//! the same contacts, deals and metrics, and no data files ship with the binary.
//!
//! The data is deliberately a little messy, the way real sources are: emails with stray
//! capitals and spaces, phone numbers in several formats, creation dates in four formats,
//! scores sometimes as text, amounts as strings in three currencies. The demo's
//! conversion schemas clean it up, which is the point of showing them.

use chrono::{DateTime, Datelike, Duration, NaiveDate, TimeZone, Utc};
use serde_json::{Value, json};

pub const CONTACT_COUNT: usize = 2_000;
pub const DEAL_COUNT: usize = 800;
pub const METRIC_DAYS: usize = 90;

/// The daily KPIs: name and unit.
pub const METRICS: &[(&str, &str)] = &[
    ("signups", "count"),
    ("active_users", "count"),
    ("revenue", "USD"),
    ("churn_rate", "percent"),
];

/// The seven deal stages, in pipeline order.
pub const DEAL_STAGES: &[&str] = &[
    "prospecting",
    "qualification",
    "needs_analysis",
    "proposal",
    "negotiation",
    "closed_won",
    "closed_lost",
];

const LIFECYCLE_STAGES: &[&str] = &[
    "subscriber",
    "lead",
    "marketing_qualified_lead",
    "sales_qualified_lead",
    "opportunity",
    "customer",
    "evangelist",
];

const FIRST_NAMES: &[&str] = &[
    "Anna", "Ben", "Chloé", "David", "Elif", "Farah", "Gustav", "Hana", "Ivan", "Jana", "Kofi",
    "Lena", "Mateo", "Nina", "Omar", "Priya", "Quinn", "Rosa", "Sven", "Tomás", "Uma", "Viktor",
    "Wen", "Ximena", "Yusuf", "Zoë", "Aiko", "Bruno", "Carmen", "Dmitri", "Emma", "Felix", "Grace",
    "Hugo", "Ines", "Jonas", "Kira", "Liam", "Maya", "Noah",
];

const LAST_NAMES: &[&str] = &[
    "Andersson",
    "Becker",
    "Costa",
    "Dubois",
    "Evans",
    "Fischer",
    "García",
    "Hansen",
    "Ito",
    "Jensen",
    "Kowalski",
    "Larsen",
    "Müller",
    "Nakamura",
    "O'Brien",
    "Petrov",
    "Quintero",
    "Rossi",
    "Schmidt",
    "Tanaka",
    "Urban",
    "Virtanen",
    "Weber",
    "Xu",
    "Yilmaz",
    "Zimmermann",
    "Almeida",
    "Bianchi",
    "Chen",
    "Novak",
];

const COMPANY_PREFIXES: &[&str] = &[
    "Northwind",
    "Contoso",
    "Fabrikam",
    "Globex",
    "Initech",
    "Umbrella",
    "Vandelay",
    "Soylent",
    "Tyrell",
    "Cyberdyne",
    "Aperture",
    "Wonka",
    "Hooli",
    "Pied Piper",
    "Stark",
    "Wayne",
    "Gringotts",
    "Dunder",
    "Acme",
    "Oceanic",
];

const COMPANY_SUFFIXES: &[&str] = &[
    "Traders",
    "Logistics",
    "Analytics",
    "Health",
    "Foods",
    "Energy",
    "Labs",
    "Systems",
];

const CITIES: &[(&str, &str)] = &[
    ("Berlin", "de"),
    ("Hamburg", "de"),
    ("Paris", "fr"),
    ("Lyon", "fr"),
    ("London", "gb"),
    ("Manchester", "gb"),
    ("New York", "us"),
    ("Austin", "us"),
    ("San Francisco", "us"),
    ("Toronto", "ca"),
    ("Madrid", "es"),
    ("Milan", "it"),
    ("Stockholm", "se"),
    ("Tokyo", "jp"),
    ("São Paulo", "br"),
    ("Sydney", "au"),
];

const STREETS: &[&str] = &[
    "Harbour Street",
    "Main Street",
    "Market Square",
    "Station Road",
    "Linden Avenue",
    "Riverside Drive",
    "Kingsway",
    "Mill Lane",
    "Park Avenue",
    "Church Street",
];

const TAGS: &[&str] = &[
    "newsletter",
    "webinar",
    "trial",
    "enterprise",
    "partner",
    "event-2024",
    "vip",
];

const PRODUCTS: &[&str] = &[
    "Platform licence",
    "Renewal",
    "Expansion",
    "Onboarding package",
    "Support plan",
    "Data add-on",
];

/// SplitMix64: tiny, fast, and the same numbers on every platform.
#[derive(Debug, Clone)]
pub struct Rng(u64);

impl Rng {
    pub fn new(seed: u64) -> Self {
        Self(seed)
    }

    pub fn next_u64(&mut self) -> u64 {
        self.0 = self.0.wrapping_add(0x9E37_79B9_7F4A_7C15);
        let mut z = self.0;
        z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
        z ^ (z >> 31)
    }

    /// A number in `0..n` (n > 0).
    pub fn below(&mut self, n: usize) -> usize {
        (self.next_u64() % (n.max(1) as u64)) as usize
    }

    /// A number in `[0, 1)`.
    pub fn unit(&mut self) -> f64 {
        (self.next_u64() >> 11) as f64 / (1u64 << 53) as f64
    }

    pub fn chance(&mut self, p: f64) -> bool {
        self.unit() < p
    }

    pub fn pick<'a, T>(&mut self, items: &'a [T]) -> &'a T {
        &items[self.below(items.len())]
    }
}

#[derive(Debug, Clone)]
pub struct Company {
    pub id: String,
    pub name: String,
    pub domain: String,
}

/// Everything the sample API serves.
#[derive(Debug, Clone)]
pub struct Dataset {
    pub companies: Vec<Company>,
    pub contacts: Vec<Value>,
    pub deals: Vec<Value>,
    pub metrics: Vec<Value>,
    /// The day the data is "as of": metrics end here, contacts were changed before it.
    pub as_of: NaiveDate,
}

impl Dataset {
    pub fn generate(seed: u64, as_of: NaiveDate) -> Self {
        let companies = companies();
        let contacts = contacts(seed, as_of, &companies);
        let deals = deals(seed, as_of, &companies);
        let metrics = metrics(seed, as_of);
        Self {
            companies,
            contacts,
            deals,
            metrics,
            as_of,
        }
    }
}

fn companies() -> Vec<Company> {
    let mut out = Vec::new();
    for suffix in COMPANY_SUFFIXES {
        for prefix in COMPANY_PREFIXES {
            let n = out.len() + 1;
            let slug: String = prefix
                .chars()
                .filter(char::is_ascii_alphanumeric)
                .collect::<String>()
                .to_lowercase();
            out.push(Company {
                id: format!("ACC-{n:04}"),
                name: format!("{prefix} {suffix}"),
                domain: format!("{slug}-{}.example", suffix.to_lowercase()),
            });
        }
    }
    out
}

fn midnight(day: NaiveDate) -> DateTime<Utc> {
    Utc.from_utc_datetime(&day.and_hms_opt(0, 0, 0).unwrap_or_default())
}

/// Plain ASCII for the local part of an email address.
fn ascii_slug(text: &str) -> String {
    text.chars()
        .map(|c| match c {
            'é' | 'è' | 'ë' => 'e',
            'á' | 'à' | 'ã' => 'a',
            'ó' | 'ò' => 'o',
            'ü' => 'u',
            'í' => 'i',
            other => other,
        })
        .filter(char::is_ascii_alphanumeric)
        .collect::<String>()
        .to_lowercase()
}

fn contacts(seed: u64, as_of: NaiveDate, companies: &[Company]) -> Vec<Value> {
    let mut rng = Rng::new(seed ^ 0xC0_47AC_7500);
    let end = midnight(as_of);
    (0..CONTACT_COUNT)
        .map(|i| {
            let first = *rng.pick(FIRST_NAMES);
            let last = *rng.pick(LAST_NAMES);
            let company = &companies[rng.below(companies.len())];
            let mut email = format!("{}.{}@{}", ascii_slug(first), ascii_slug(last), company.domain);
            // Hand-typed addresses: some capitalised, some with stray spaces.
            if rng.chance(0.15) {
                email = format!("{}.{}@{}", first, last, company.domain).replace(' ', "");
            }
            if rng.chance(0.05) {
                email = format!(" {email} ");
            }
            let digits = 1_000_000 + rng.below(8_999_999);
            let phone = match rng.below(5) {
                0 => Value::Null,
                1 => json!(format!("+1 ({:03}) {:03}-{:04}", 200 + digits % 700, digits / 10_000 % 1000, digits % 10_000)),
                2 => json!(format!("+49 30 {digits}")),
                3 => json!(format!("0{:03} {:03} {:04}", digits % 1000, digits / 1000 % 1000, digits / 100 % 10_000)),
                _ => json!(format!("+44-20-{digits}")),
            };
            let created = end - Duration::days(30 + rng.below(1_000) as i64) + Duration::seconds(rng.below(86_400) as i64);
            let created_at = match rng.below(4) {
                0 => json!(created.format("%Y-%m-%d").to_string()),
                1 => json!(created.to_rfc3339_opts(chrono::SecondsFormat::Secs, true)),
                2 => json!(created.to_rfc2822()),
                _ => json!(created.timestamp()),
            };
            let score = (rng.unit() * 1000.0).round() / 10.0;
            let score = if rng.chance(0.2) {
                json!(format!("{score}"))
            } else {
                json!(score)
            };
            let (city, country) = *rng.pick(CITIES);
            let tags: Vec<&str> = TAGS.iter().copied().filter(|_| rng.chance(0.25)).collect();
            let modified = created + Duration::seconds(rng.below((end - created).num_seconds().max(1) as usize) as i64);
            json!({
                "id": format!("CON-{:05}", i + 1),
                "first_name": first,
                "last_name": last,
                "email": email,
                "phone": phone,
                "company": company.name,
                "company_id": company.id,
                "lifecycle_stage": if rng.chance(0.1) {
                    rng.pick(LIFECYCLE_STAGES).to_uppercase()
                } else {
                    rng.pick(LIFECYCLE_STAGES).to_string()
                },
                "score": score,
                "created_at": created_at,
                "address": {
                    "street": format!("{} {}", 1 + rng.below(200), rng.pick(STREETS)),
                    "city": city,
                    "country": country,
                },
                "tags": tags,
                "archived": rng.chance(0.03),
                "last_modified": modified.to_rfc3339_opts(chrono::SecondsFormat::Secs, true),
            })
        })
        .collect()
}

fn deals(seed: u64, as_of: NaiveDate, companies: &[Company]) -> Vec<Value> {
    let mut rng = Rng::new(seed ^ 0xDEA1_5000);
    let end = midnight(as_of);
    (0..DEAL_COUNT)
        .map(|i| {
            let company = &companies[rng.below(companies.len())];
            let product = *rng.pick(PRODUCTS);
            let stage = *rng.pick(DEAL_STAGES);
            let closed = stage.starts_with("closed_");
            let close = if closed {
                as_of - Duration::days(1 + rng.below(365) as i64)
            } else {
                as_of + Duration::days(1 + rng.below(180) as i64)
            };
            let currency = match rng.below(10) {
                0..=6 => "USD",
                7 | 8 => "EUR",
                _ => "GBP",
            };
            let amount = (2_000.0 + rng.unit() * 248_000.0) * 100.0;
            let amount = amount.round() / 100.0;
            let created = end - Duration::days(10 + rng.below(500) as i64);
            let updated = created + Duration::days(rng.below(10) as i64);
            let owner = *rng.pick(FIRST_NAMES);
            json!({
                "id": format!("DEAL-{:05}", i + 1),
                "name": format!("{} — {}", company.name, product),
                "stage": stage,
                "amount": format!("{amount:.2}"),
                "currency": currency,
                "close_date": close.format("%Y-%m-%d").to_string(),
                "account_id": company.id,
                "owner": format!("{}@syncdeck-demo.example", ascii_slug(owner)),
                "created_at": created.to_rfc3339_opts(chrono::SecondsFormat::Secs, true),
                "updated_at": updated.to_rfc3339_opts(chrono::SecondsFormat::Secs, true),
            })
        })
        .collect()
}

fn metrics(seed: u64, as_of: NaiveDate) -> Vec<Value> {
    let mut rng = Rng::new(seed ^ 0x3E7_1C5);
    let mut out = Vec::with_capacity(METRIC_DAYS * METRICS.len());
    for d in 0..METRIC_DAYS {
        let day = as_of - Duration::days((METRIC_DAYS - 1 - d) as i64);
        let weekend = day.weekday().number_from_monday() >= 6;
        let trend = 1.0 + d as f64 / METRIC_DAYS as f64 * 0.3;
        for (metric, unit) in METRICS {
            let noise = 0.85 + rng.unit() * 0.3;
            let value = match *metric {
                "signups" => (if weekend { 60.0 } else { 140.0 } * trend * noise).round(),
                "active_users" => (if weekend { 2_100.0 } else { 4_800.0 } * trend * noise).round(),
                "revenue" => {
                    ((if weekend { 9_000.0 } else { 23_000.0 }) * trend * noise * 100.0).round()
                        / 100.0
                }
                _ => ((2.4 / trend) * noise * 100.0).round() / 100.0,
            };
            out.push(json!({
                "metric": metric,
                "date": day.format("%Y-%m-%d").to_string(),
                "value": value,
                "unit": unit,
                "dimension": "global",
            }));
        }
    }
    out
}

/// Manual KPI entries as a spreadsheet export would give them: US dates, thousands
/// separators, names typed by people.
pub fn manual_kpis_csv(seed: u64, as_of: NaiveDate) -> String {
    let mut rng = Rng::new(seed ^ 0xC5_7000);
    let entries: &[(&str, &str, f64, f64)] = &[
        ("NPS", "score", 30.0, 25.0),
        ("Support CSAT", "percent", 82.0, 15.0),
        ("Pipeline coverage", "ratio", 2.5, 1.5),
        ("Trade show leads", "count", 900.0, 1_400.0),
    ];
    let people = ["maria.k", "j.chen", "ops-team"];
    let mut out = String::from("metric,date,value,unit,entered_by,notes\n");
    for week in 0..12 {
        let day = as_of - Duration::days(7 * (11 - week));
        for (name, unit, base, spread) in entries {
            let value = base + rng.unit() * spread;
            let value = if *unit == "count" {
                let v = value.round() as u64;
                if v >= 1_000 {
                    format!("\"{},{:03}\"", v / 1_000, v % 1_000)
                } else {
                    v.to_string()
                }
            } else {
                format!("{:.1}", value)
            };
            let notes = match rng.below(6) {
                0 => "\"from the quarterly survey, see deck\"",
                1 => "estimate",
                _ => "",
            };
            let name = if rng.chance(0.2) {
                format!(" {name}")
            } else {
                (*name).to_string()
            };
            out.push_str(&format!(
                "{name},{},{value},{unit},{},{notes}\n",
                day.format("%m/%d/%Y"),
                rng.pick(&people)
            ));
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    fn day() -> NaiveDate {
        NaiveDate::from_ymd_opt(2025, 6, 30).unwrap_or_default()
    }

    #[test]
    fn the_same_seed_gives_the_same_data() {
        let a = Dataset::generate(7, day());
        let b = Dataset::generate(7, day());
        assert_eq!(a.contacts, b.contacts);
        assert_eq!(a.deals, b.deals);
        assert_eq!(a.metrics, b.metrics);
        let c = Dataset::generate(8, day());
        assert_ne!(a.contacts, c.contacts);
    }

    #[test]
    fn sizes_and_shapes() {
        let d = Dataset::generate(1, day());
        assert_eq!(d.contacts.len(), CONTACT_COUNT);
        assert_eq!(d.deals.len(), DEAL_COUNT);
        assert_eq!(d.metrics.len(), METRIC_DAYS * METRICS.len());
        let c = &d.contacts[0];
        assert!(c["address"]["city"].is_string());
        assert!(c["tags"].is_array());
        // Deals reference the companies contacts work at.
        for deal in &d.deals {
            let account = deal["account_id"].as_str().unwrap_or_default();
            assert!(d.companies.iter().any(|c| c.id == account));
            assert!(DEAL_STAGES.contains(&deal["stage"].as_str().unwrap_or_default()));
            assert!(
                deal["amount"]
                    .as_str()
                    .unwrap_or_default()
                    .parse::<f64>()
                    .is_ok()
            );
        }
        let last = d.metrics.last().map(|m| m["date"].clone());
        assert_eq!(last, Some(json!("2025-06-30")));
    }

    #[test]
    fn ids_are_unique() {
        let d = Dataset::generate(3, day());
        let mut ids: Vec<&str> = d.contacts.iter().filter_map(|c| c["id"].as_str()).collect();
        ids.sort_unstable();
        ids.dedup();
        assert_eq!(ids.len(), CONTACT_COUNT);
    }

    #[test]
    fn the_csv_has_a_header_and_rows() {
        let csv = manual_kpis_csv(1, day());
        let mut lines = csv.lines();
        assert_eq!(
            lines.next(),
            Some("metric,date,value,unit,entered_by,notes")
        );
        assert_eq!(lines.count(), 12 * 4);
    }
}
