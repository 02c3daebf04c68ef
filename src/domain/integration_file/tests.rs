use super::*;

fn types() -> Vec<(String, String)> {
    vec![
        ("rest_api".into(), "rest_api".into()),
        ("file".into(), "file".into()),
        ("webhook".into(), "webhook".into()),
    ]
}

const GOOD: &str = r#"
name        = "Acme CRM contacts"
type        = "rest_api"
environment = "production"
enabled     = true

[connection]
base_url     = "https://crm.example.com/api/v2"
timeout_secs = 30
headers      = { "Accept" = "application/json" }
rate_limit   = { requests = 100, per_secs = 60 }

[connection.auth]
kind   = "api_key"
in     = "header"
name   = "X-Api-Key"
secret = "env:ACME_KEY"

[source]
entity       = "contacts"
method       = "GET"
path         = "/contacts"
query        = { "per_page" = "1000" }
records      = "$.results[*]"
cursor_field = "LastModifiedDate"
cursor_param = "modified_since"

[source.pagination]
kind = "page"
param = "page"
stop_when = "$.next_page"

[schema]
file = "contacts.schema.json"

[task]
direction = "pull"
schedule  = { kind = "cron", expression = "0 2 * * 1-5", timezone = "America/New_York" }
config    = { industry = "banking" }
retry     = { max_retries = 3, delay_secs = 60, exponential = true }
"#;

#[test]
fn reads_the_spec_example() {
    let f = parse(GOOD, &types()).unwrap();
    assert_eq!(f.spec.name.as_str(), "Acme CRM contacts");
    assert_eq!(
        f.schemas[0],
        SchemaSource::File("contacts.schema.json".into())
    );
    assert_eq!(
        f.secrets,
        vec![(
            Field::ConnectionAuthSecret,
            CredentialInput::Env("ACME_KEY".into())
        )]
    );
    assert_eq!(
        f.spec.entities[0].source.pagination,
        Pagination::Page {
            param: "page".into(),
            start: 1,
            stop_when: Some("$.next_page".into())
        }
    );
    assert_eq!(f.spec.tasks[0].config["industry"], "banking");
    assert_eq!(f.spec.connection.rate_limit.as_ref().unwrap().requests, 100);
}

#[test]
fn lists_every_error_with_its_key_path() {
    let bad = GOOD
        .replace("secret = \"env:ACME_KEY\"", "secret = \"sk_live_123\"")
        .replace("timeout_secs = 30", "timeout_secs = \"30\"")
        .replace("kind = \"page\"", "kind = \"pages\"")
        .replace("enabled     = true", "enabled     = true\ncolour = \"red\"");
    let errors = parse(&bad, &types()).unwrap_err();
    let text: Vec<String> = errors.iter().map(|e| e.to_string()).collect();
    assert_eq!(errors.len(), 4, "{text:#?}");
    assert!(
        text[0].starts_with("colour (line 6): unknown key"),
        "{text:#?}"
    );
    assert!(
        text.iter()
            .any(|t| t.starts_with("connection.timeout_secs (line 10): expected an integer"))
    );
    assert!(text.iter().any(|t| {
        t.starts_with("connection.auth.secret (line 18): a literal secret is not allowed")
            && t.contains("env:NAME")
    }));
    assert!(
        text.iter()
            .any(|t| t.starts_with("source.pagination.kind") && t.contains("none | page"))
    );
    // The literal secret itself is never echoed back.
    assert!(!text.iter().any(|t| t.contains("sk_live_123")));
}

#[test]
fn unknown_type_and_invalid_schedule_are_explained() {
    let bad = GOOD
        .replace("type        = \"rest_api\"", "type        = \"soap\"")
        .replace("0 2 * * 1-5", "0 25 * * *");
    let errors = parse(&bad, &types()).unwrap_err();
    let text: Vec<String> = errors.iter().map(|e| e.to_string()).collect();
    assert!(
        text.iter()
            .any(|t| t.contains("\"soap\" is not in the catalog")),
        "{text:#?}"
    );
    assert!(
        text.iter().any(|t| t.starts_with("task.schedule")),
        "{text:#?}"
    );
}

#[test]
fn credential_headers_are_refused() {
    let bad = GOOD.replace(
        "headers      = { \"Accept\" = \"application/json\" }",
        "headers      = { \"Authorization\" = \"Bearer abc\" }",
    );
    let errors = parse(&bad, &types()).unwrap_err();
    assert_eq!(errors.len(), 1);
    assert_eq!(errors[0].field, "connection.headers.Authorization");
}

/// A credential in the query would be stored in clear with the request: refused, with
/// the way to send it encrypted. Parameters that only look alike pass.
#[test]
fn credential_query_parameters_are_refused() {
    for name in [
        "api_key",
        "apiKey",
        "access_token",
        "key",
        "client-secret",
        "sig",
    ] {
        let bad = GOOD.replace(
            "query        = { \"per_page\" = \"1000\" }",
            &format!("query        = {{ \"per_page\" = \"1000\", \"{name}\" = \"abc123\" }}"),
        );
        let errors = parse(&bad, &types()).unwrap_err();
        assert_eq!(errors.len(), 1, "{name}: {errors:?}");
        assert_eq!(errors[0].field, format!("source.query.{name}"));
        assert!(
            errors[0].message.contains("in = \"query\""),
            "{}",
            errors[0].message
        );
        assert!(!errors[0].message.contains("abc123"));
    }
    for name in ["page_token", "keyword", "monkey", "fields", "signed_after"] {
        let ok = GOOD.replace(
            "query        = { \"per_page\" = \"1000\" }",
            &format!("query        = {{ \"{name}\" = \"x\" }}"),
        );
        assert!(parse(&ok, &types()).is_ok(), "{name}");
    }
}

#[test]
fn export_writes_prompt_for_secrets_and_reads_back_the_same() {
    let inline = GOOD.replace(
        "[schema]\nfile = \"contacts.schema.json\"",
        "[schema]\nid = \"s\"\nname = \"S\"\nfieldMappings = []",
    );
    let f = parse(&inline, &types()).unwrap();
    let text = export(&f.spec);
    assert!(text.contains("secret = \"prompt\""), "{text}");
    let again = parse(&text, &types()).unwrap();
    assert_eq!(again.spec, f.spec);
    assert_eq!(again.secrets[0].1, CredentialInput::Prompt);
}

#[test]
fn file_integrations_need_a_path_and_format() {
    let text = r#"
name = "KPI file"
type = "file"
[connection]
format = "xml"
[source]
entity = "kpis"
"#;
    let errors = parse(text, &types()).unwrap_err();
    let paths: Vec<String> = errors.iter().map(|e| e.field.to_string()).collect();
    assert_eq!(paths, vec!["connection.path", "connection.format"]);
}

#[test]
fn syntax_errors_have_a_line() {
    let errors = parse("name = \"x\"\n[connection\n", &types()).unwrap_err();
    assert_eq!(errors.len(), 1);
    assert_eq!(errors[0].line, Some(2));
}

#[test]
fn interval_schedules_in_weeks_import_and_export() {
    let weekly = GOOD
        .replace(
            "[schema]\nfile = \"contacts.schema.json\"",
            "[schema]\nid = \"s\"\nname = \"S\"\nfieldMappings = []",
        )
        .replace(
        "schedule  = { kind = \"cron\", expression = \"0 2 * * 1-5\", timezone = \"America/New_York\" }",
        "schedule  = { kind = \"interval\", every = 2, unit = \"weeks\" }",
    );
    let f = parse(&weekly, &types()).unwrap();
    assert_eq!(
        f.spec.tasks[0].schedule.describe("default"),
        "Every 2 weeks"
    );
    let text = export(&f.spec);
    assert!(text.contains("unit = \"weeks\""), "{text}");
    assert_eq!(parse(&text, &types()).unwrap().spec, f.spec);
}

#[test]
fn the_sources_total_is_a_json_path() {
    let with = |total: &str| {
        GOOD.replace(
            "records      = \"$.results[*]\"",
            &format!("records      = \"$.results[*]\"\ntotal        = \"{total}\""),
        )
    };
    let f = parse(&with("$.total"), &types()).unwrap();
    assert_eq!(f.spec.entities[0].source.total.as_deref(), Some("$.total"));
    let errors = parse(&with("total"), &types()).unwrap_err();
    assert!(
        errors
            .iter()
            .any(|e| e.to_string().starts_with("source.total")
                && e.to_string().contains("\"$.total\"")),
        "{errors:?}"
    );
}

/// Every problem of a file names its typed field, all of them at once, each with its
/// line; schedule problems name the schedule's own field.
#[test]
fn problems_name_their_typed_fields() {
    let bad = GOOD
        .replace(
            "base_url     = \"https://crm.example.com/api/v2\"",
            "base_url     = \"crm.example.com\"",
        )
        .replace(
            "kind = \"page\"\nparam = \"page\"",
            "kind = \"offset\"\nparam = \"offset\"",
        )
        .replace("America/New_York", "Mars/Olympus")
        .replace("name   = \"X-Api-Key\"\n", "")
        .replace("\"Accept\" = \"application/json\"", "\"X-Token\" = \"t\"");
    let errors = parse(&bad, &types()).unwrap_err();
    let fields: Vec<Field> = errors.iter().map(|e| e.field.field).collect();
    assert_eq!(
        fields,
        [
            Field::ConnectionHeaders,
            Field::ConnectionBaseUrl,
            Field::ConnectionAuthName,
            Field::SourcePaginationStopWhen,
            Field::SourcePaginationLimitParam,
            Field::SourcePaginationLimit,
            Field::TaskScheduleTimezone,
        ],
        "{errors:#?}"
    );
    // An entry under a field keeps its own name, and every problem has its line.
    assert_eq!(errors[0].field.entry.as_deref(), Some("X-Token"));
    assert_eq!(errors[0].line, Some(10));
    assert!(errors.iter().all(|e| e.line.is_some()), "{errors:#?}");
    assert!(
        errors[3].message.starts_with("unknown key"),
        "{}",
        errors[3]
    );
}

const LISTED: &str = r#"
name = "Salesforce"
type = "rest_api"

[connection]
base_url = "https://sf.example.com/api"
[connection.auth]
kind = "bearer"
secret = "env:SF_TOKEN"

[[entities]]
entity = "contacts"
path = "/contacts"
records = "$.records[*]"
schema = { file = "contacts.schema.json" }

[[entities]]
entity = "news"
path = "/everything"
query = { q = "{{task.query}}" }
records = "$.articles[*]"
[entities.schema]
id = "news"
name = "News"
source = { entity = "news" }
target = { shardTypeId = "c_news" }
fieldMappings = []

[[tasks]]
name = "Contacts daily"
entity = "contacts"
schedule = { kind = "cron", expression = "0 2 * * *", timezone = "UTC" }

[[tasks]]
name = "Banking news"
entity = "news"
config = { query = "banking industry" }

[[tasks]]
name = "Robotics news"
entity = "news"
config = { query = "automation robotics" }
"#;

#[test]
fn a_listed_file_reads_as_entities_with_their_schemas_and_tasks() {
    let f = parse(LISTED, &types()).unwrap();
    assert!(f.listed);
    let names: Vec<&str> = f.spec.entities.iter().map(|e| e.name()).collect();
    assert_eq!(names, ["contacts", "news"]);
    assert_eq!(
        f.schemas[0],
        SchemaSource::File("contacts.schema.json".into())
    );
    assert!(matches!(f.schemas[1], SchemaSource::Inline(_)));
    assert_eq!(f.spec.entities[1].target_type(), Some("c_news"));
    let tasks: Vec<(&str, &str)> = f
        .spec
        .tasks
        .iter()
        .map(|t| (t.name.as_str(), t.entity.as_str()))
        .collect();
    assert_eq!(
        tasks,
        [
            ("Contacts daily", "contacts"),
            ("Banking news", "news"),
            ("Robotics news", "news")
        ]
    );
    assert_eq!(f.spec.tasks[2].config["query"], "automation robotics");
    assert!(!f.spec.is_single());
}

#[test]
fn a_listed_export_imports_as_the_same_integration() {
    let mut f = parse(LISTED, &types()).unwrap();
    f.spec.entities[0].schema = Some(serde_json::json!({
        "id": "contacts", "name": "Contacts", "source": {"entity": "contacts"},
        "target": {"shardTypeId": "contact"}, "fieldMappings": []
    }));
    let text = export(&f.spec);
    assert!(
        text.contains("[[entities]]") && text.contains("[[tasks]]"),
        "{text}"
    );
    assert!(!text.contains("[source]"), "{text}");
    let again = parse(&text, &types()).unwrap();
    assert_eq!(again.spec, f.spec);
}

#[test]
fn a_single_form_export_stays_single_and_names_a_task_named_otherwise() {
    let mut f = parse(GOOD, &types()).unwrap();
    assert_eq!(f.spec.tasks[0].name, "Acme CRM contacts");
    assert!(!export(&f.spec).contains("[[tasks]]"));
    f.spec.tasks[0].name = "Nightly".into();
    let text = export(&f.spec);
    assert!(
        text.contains("[task]") && text.contains("name = \"Nightly\""),
        "{text}"
    );
    let again = parse(&text, &types()).unwrap();
    assert_eq!(again.spec.tasks[0].name, "Nightly");
    assert_eq!(again.spec.tasks[0].entity, "contacts");
}

#[test]
fn tasks_that_do_not_fit_their_entities_are_each_named_with_their_place() {
    let bad = LISTED
        .replace(
            "entity = \"contacts\"\nschedule",
            "entity = \"accounts\"\nschedule",
        )
        .replace("name = \"Robotics news\"", "name = \"Banking news\"")
        .replace("name = \"Contacts daily\"", "name = \"Daily/contacts\"");
    let errors = parse(&bad, &types()).unwrap_err();
    let at: Vec<String> = errors.iter().map(|p| p.field.to_string()).collect();
    assert!(at.contains(&"tasks[0].entity".to_string()), "{errors:?}");
    assert!(at.contains(&"tasks[0].name".to_string()), "{errors:?}");
    assert!(at.contains(&"tasks[2].name".to_string()), "{errors:?}");
    assert!(
        errors
            .iter()
            .any(|p| p.message.contains("\"accounts\"") && p.message.contains("contacts, news")),
        "{errors:?}"
    );
}

#[test]
fn the_single_and_list_forms_are_not_mixed() {
    let mixed = format!("{LISTED}\n[source]\nentity = \"x\"\n");
    let errors = parse(&mixed, &types()).unwrap_err();
    assert!(
        errors
            .iter()
            .any(|p| p.message.contains("mixes the single form")),
        "{errors:?}"
    );
}

#[test]
fn a_listed_entitys_problems_name_its_place_and_line() {
    let bad = LISTED.replace(
        "path = \"/everything\"",
        "path = \"/everything\"\nmethod = \"PUT\"",
    );
    let errors = parse(&bad, &types()).unwrap_err();
    let p = errors
        .iter()
        .find(|p| p.field == *"entities[1].method")
        .unwrap_or_else(|| panic!("{errors:?}"));
    assert!(p.line.is_some(), "{p:?}");
}

#[test]
fn a_realtime_task_names_its_endpoint_and_reads_in_words() {
    let text = GOOD.replace(
        r#"schedule  = { kind = "cron", expression = "0 2 * * 1-5", timezone = "America/New_York" }"#,
        r#"schedule  = { kind = "realtime", endpoint = "crm/contacts" }"#,
    );
    let f = parse(&text, &types()).unwrap();
    assert_eq!(
        f.spec.tasks[0].schedule,
        Schedule::Realtime {
            endpoint: "crm/contacts".into()
        }
    );
    assert_eq!(
        f.spec.tasks[0].schedule.describe("default"),
        "On each webhook to /webhooks/default/crm/contacts"
    );
    assert_eq!(
        f.spec.tasks[0].schedule.next_after(chrono::Utc::now()),
        None
    );
    let again = parse(&export(&f.spec), &types()).unwrap();
    assert_eq!(again.spec.tasks, f.spec.tasks);
    let missing = text.replace(r#", endpoint = "crm/contacts""#, "");
    let errors = parse(&missing, &types()).unwrap_err();
    assert!(
        errors.iter().any(|p| p.field == *"task.schedule.endpoint"),
        "{errors:?}"
    );
}
