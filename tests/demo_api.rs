//! The built-in sample API from outside: a real server on 127.0.0.1, walked with reqwest.
#![allow(clippy::unwrap_used, clippy::expect_used)]

use std::collections::HashSet;
use std::time::{Duration, Instant};

use chrono::NaiveDate;
use serde_json::Value;
use syncdeck::demo::{SampleApi, SampleApiHandle, SampleApiOptions};

fn client() -> reqwest::Client {
    let _ = rustls::crypto::ring::default_provider().install_default();
    reqwest::Client::builder()
        .timeout(Duration::from_secs(20))
        .build()
        .unwrap()
}

/// Still data, a fixed date, no rate limit unless a test asks for one.
fn options() -> SampleApiOptions {
    SampleApiOptions {
        rate_limit: 0,
        as_of: NaiveDate::from_ymd_opt(2025, 6, 30),
        change_every: None,
        ..SampleApiOptions::default()
    }
}

async fn start(options: SampleApiOptions) -> SampleApiHandle {
    SampleApi::start(options).await.unwrap()
}

async fn get_json(req: reqwest::RequestBuilder) -> (u16, Value) {
    let resp = req.send().await.unwrap();
    let status = resp.status().as_u16();
    let body = resp.json::<Value>().await.unwrap();
    (status, body)
}

#[tokio::test]
async fn contacts_walk_by_page_number_to_the_end() {
    let api = start(options()).await;
    let http = client();
    let mut page = 1;
    let mut ids = HashSet::new();
    let mut pages = 0;
    loop {
        let (status, body) = get_json(
            http.get(format!(
                "{}/crm/contacts?page={page}&per_page=150",
                api.url()
            ))
            .header("X-Api-Key", &api.api_key),
        )
        .await;
        assert_eq!(status, 200, "{body}");
        pages += 1;
        assert_eq!(body["page"], page);
        for c in body["results"].as_array().unwrap() {
            assert!(c["address"]["city"].is_string(), "nested address: {c}");
            assert!(ids.insert(c["id"].as_str().unwrap().to_string()));
        }
        match body["next_page"].as_u64() {
            Some(next) => {
                assert_eq!(next, page + 1);
                page = next;
            }
            None => {
                assert!(body["next_page"].is_null());
                break;
            }
        }
    }
    assert_eq!(ids.len(), 2_000);
    assert_eq!(pages, 14); // 13 full pages of 150 and one of 50
    api.shutdown().await;
}

#[tokio::test]
async fn deals_walk_by_cursor_to_the_end() {
    let api = start(options()).await;
    let http = client();
    let mut after: Option<String> = None;
    let mut ids = HashSet::new();
    let mut stages = HashSet::new();
    loop {
        let mut url = format!("{}/sales/deals?limit=75", api.url());
        if let Some(a) = &after {
            url.push_str(&format!("&after={a}"));
        }
        let (status, body) = get_json(http.get(url).bearer_auth(&api.bearer_token)).await;
        assert_eq!(status, 200, "{body}");
        for d in body["data"].as_array().unwrap() {
            assert!(ids.insert(d["id"].as_str().unwrap().to_string()));
            stages.insert(d["stage"].as_str().unwrap().to_string());
            assert!(d["amount"].as_str().unwrap().parse::<f64>().is_ok());
        }
        match body.get("paging") {
            Some(p) => after = Some(p["next"]["after"].as_str().unwrap().to_string()),
            None => break,
        }
    }
    assert_eq!(ids.len(), 800);
    assert_eq!(stages.len(), 7);
    api.shutdown().await;
}

#[tokio::test]
async fn metrics_walk_by_relative_next_url_to_the_end() {
    let api = start(options()).await;
    let http = client();
    let walk = |first: String| {
        let http = http.clone();
        let base = api.url();
        async move {
            let mut url = Some(first);
            let mut items = Vec::new();
            while let Some(u) = url.take() {
                let (status, body) = get_json(http.get(format!("{base}{u}"))).await;
                assert_eq!(status, 200, "{body}");
                items.extend(body["items"].as_array().unwrap().iter().cloned());
                if let Some(next) = body["links"]["next"].as_str() {
                    assert!(next.starts_with("/metrics/daily?"), "relative: {next}");
                    url = Some(next.to_string());
                }
            }
            items
        }
    };
    let all = walk("/metrics/daily?limit=40".into()).await;
    assert_eq!(all.len(), 90 * 4);
    let keys: HashSet<String> = all
        .iter()
        .map(|m| format!("{}/{}", m["metric"], m["date"]))
        .collect();
    assert_eq!(keys.len(), 360);
    assert_eq!(all.last().unwrap()["date"], "2025-06-30");
    // A filter carries over to the next links.
    let signups = walk("/metrics/daily?limit=7&metric=signups".into()).await;
    assert_eq!(signups.len(), 90);
    assert!(signups.iter().all(|m| m["metric"] == "signups"));
    api.shutdown().await;
}

#[tokio::test]
async fn credentials_are_required() {
    let api = start(options()).await;
    let http = client();
    let contacts = format!("{}/crm/contacts", api.url());
    let deals = format!("{}/sales/deals", api.url());

    let (status, body) = get_json(http.get(&contacts)).await;
    assert_eq!(
        (status, body["error"].as_str()),
        (401, Some("invalid api key"))
    );
    let (status, _) = get_json(http.get(&contacts).header("X-Api-Key", "wrong")).await;
    assert_eq!(status, 401);
    // The bearer token is not the API key, and the other way round.
    let (status, _) = get_json(http.get(&contacts).header("X-Api-Key", &api.bearer_token)).await;
    assert_eq!(status, 401);

    let resp = http.get(&deals).send().await.unwrap();
    assert_eq!(resp.status().as_u16(), 401);
    assert!(resp.headers().contains_key("www-authenticate"));
    let body: Value = resp.json().await.unwrap();
    assert!(body["error"].is_string());
    let (status, _) = get_json(http.get(&deals).bearer_auth(&api.api_key)).await;
    assert_eq!(status, 401);

    // Metrics and health are open.
    let (status, _) = get_json(http.get(format!("{}/metrics/daily", api.url()))).await;
    assert_eq!(status, 200);
    let (status, body) = get_json(http.get(format!("{}/health", api.url()))).await;
    assert_eq!((status, body["status"].as_str()), (200, Some("ok")));
    api.shutdown().await;
}

#[tokio::test]
async fn bad_parameters_are_400_with_a_reason() {
    let api = start(options()).await;
    let http = client();
    let (status, body) = get_json(
        http.get(format!("{}/crm/contacts?per_page=zero", api.url()))
            .header("X-Api-Key", &api.api_key),
    )
    .await;
    assert_eq!(status, 400);
    assert!(body["error"].as_str().unwrap().contains("per_page"));
    let (status, _) = get_json(
        http.get(format!("{}/sales/deals?after=bogus", api.url()))
            .bearer_auth(&api.bearer_token),
    )
    .await;
    assert_eq!(status, 400);
    let (status, _) = get_json(http.get(format!("{}/nowhere", api.url()))).await;
    assert_eq!(status, 404);
    api.shutdown().await;
}

#[tokio::test]
async fn over_the_rate_limit_is_429_with_retry_after_and_headers() {
    let api = start(SampleApiOptions {
        rate_limit: 5,
        ..options()
    })
    .await;
    let http = client();
    let mut limited = None;
    let mut remaining = Vec::new();
    for _ in 0..12 {
        let resp = http
            .get(format!("{}/metrics/daily?limit=1", api.url()))
            .send()
            .await
            .unwrap();
        let h = resp.headers();
        assert_eq!(h["x-ratelimit-limit"], "5");
        let reset: i64 = h["x-ratelimit-reset"].to_str().unwrap().parse().unwrap();
        let now = chrono::Utc::now().timestamp();
        assert!(
            reset >= now && reset <= now + 2,
            "reset {reset} is epoch seconds, now {now}"
        );
        let left: u32 = h["x-ratelimit-remaining"]
            .to_str()
            .unwrap()
            .parse()
            .unwrap();
        if resp.status().as_u16() == 429 {
            let wait: u64 = h["retry-after"].to_str().unwrap().parse().unwrap();
            assert!((1..=2).contains(&wait));
            assert_eq!(left, 0);
            let body: Value = resp.json().await.unwrap();
            assert!(body["error"].as_str().unwrap().contains("rate limit"));
            limited = Some(wait);
            break;
        }
        assert_eq!(resp.status().as_u16(), 200);
        remaining.push(left);
    }
    let wait = limited.expect("12 quick requests against 5/s were never limited");
    assert!(remaining.windows(2).all(|w| w[0] >= w[1]), "{remaining:?}");
    // After the wait the server answers again.
    tokio::time::sleep(Duration::from_secs(wait)).await;
    let resp = http
        .get(format!("{}/health", api.url()))
        .send()
        .await
        .unwrap();
    assert_eq!(resp.status().as_u16(), 200);
    api.shutdown().await;
}

#[tokio::test]
async fn error_rate_one_answers_500_with_json() {
    let api = start(SampleApiOptions {
        error_rate: 1.0,
        ..options()
    })
    .await;
    let http = client();
    for _ in 0..3 {
        let (status, body) = get_json(
            http.get(format!("{}/crm/contacts", api.url()))
                .header("X-Api-Key", &api.api_key),
        )
        .await;
        assert_eq!(status, 500);
        assert!(body["error"].is_string());
    }
    let (status, _) = get_json(http.get(format!("{}/metrics/daily", api.url()))).await;
    assert_eq!(status, 500);
    // Health stays healthy: it is how one tells the server is up.
    let (status, _) = get_json(http.get(format!("{}/health", api.url()))).await;
    assert_eq!(status, 200);
    api.shutdown().await;
}

#[tokio::test]
async fn fail_rate_parameter_fails_that_request_only() {
    let api = start(options()).await;
    let http = client();
    let (status, _) = get_json(http.get(format!("{}/metrics/daily?fail_rate=1", api.url()))).await;
    assert_eq!(status, 500);
    let (status, _) = get_json(http.get(format!("{}/metrics/daily?fail_rate=0", api.url()))).await;
    assert_eq!(status, 200);
    let (status, _) = get_json(http.get(format!("{}/metrics/daily?fail_rate=2", api.url()))).await;
    assert_eq!(status, 400);
    api.shutdown().await;
}

#[tokio::test]
async fn an_out_of_range_error_rate_is_refused() {
    let err = SampleApi::start(SampleApiOptions {
        error_rate: 1.5,
        ..options()
    })
    .await
    .unwrap_err();
    assert!(err.to_string().contains("1.5"));
}

#[tokio::test]
async fn latency_knob_delays_responses() {
    let api = start(SampleApiOptions {
        latency_ms: 300,
        ..options()
    })
    .await;
    let http = client();
    let t = Instant::now();
    let (status, _) = get_json(http.get(format!("{}/metrics/daily", api.url()))).await;
    let took = t.elapsed();
    assert_eq!(status, 200);
    assert!(took >= Duration::from_millis(300), "took {took:?}");
    assert!(took < Duration::from_secs(5), "took {took:?}");
    api.shutdown().await;
}

#[tokio::test]
async fn contacts_change_over_time_for_incremental_syncs() {
    let api = start(SampleApiOptions {
        change_every: Some(Duration::from_millis(100)),
        ..options()
    })
    .await;
    let started = chrono::Utc::now() - chrono::Duration::seconds(1);
    let since = started.to_rfc3339_opts(chrono::SecondsFormat::Secs, true);
    let http = client();
    let changed = |since: String| {
        let http = http.clone();
        let url = format!(
            "{}/crm/contacts?per_page=500&modified_since={since}",
            api.url()
        );
        let key = api.api_key.clone();
        async move {
            let (status, body) = get_json(http.get(url).header("X-Api-Key", key)).await;
            assert_eq!(status, 200, "{body}");
            body["total"].as_u64().unwrap()
        }
    };
    tokio::time::sleep(Duration::from_millis(450)).await;
    let n = changed(since.clone()).await;
    assert!(n >= 3, "{n} contacts changed since the start");
    assert!(n < 2_000);
    assert_eq!(changed("2999-01-01".into()).await, 0);
    let (status, _) = get_json(
        http.get(format!("{}/crm/contacts?modified_since=soon", api.url()))
            .header("X-Api-Key", &api.api_key),
    )
    .await;
    assert_eq!(status, 400);
    api.shutdown().await;
}

#[tokio::test]
async fn a_taken_port_is_a_clear_error_and_shutdown_frees_it() {
    let api = start(options()).await;
    let port = api.addr.port();
    let err = SampleApi::start(SampleApiOptions { port, ..options() })
        .await
        .unwrap_err();
    assert!(err.to_string().contains(&port.to_string()));
    api.shutdown().await;
    let again = start(SampleApiOptions { port, ..options() }).await;
    assert_eq!(again.addr.port(), port);
    again.shutdown().await;
}
