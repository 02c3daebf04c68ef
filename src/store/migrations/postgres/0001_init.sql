-- syncdeck schema, PostgreSQL dialect. Ids are UUID text, times epoch milliseconds,
-- JSON documents TEXT, flags 0/1: the same shapes as the PostgreSQL schema.
CREATE TABLE tenants (
    id TEXT PRIMARY KEY,
    name TEXT NOT NULL UNIQUE,
    created_at BIGINT NOT NULL
);
CREATE TABLE users (
    id TEXT PRIMARY KEY,
    tenant_id TEXT NOT NULL REFERENCES tenants(id) ON DELETE CASCADE,
    name TEXT NOT NULL,
    role TEXT NOT NULL DEFAULT 'admin',
    created_at BIGINT NOT NULL,
    UNIQUE (tenant_id, name)
);
CREATE TABLE integration_types (
    id TEXT PRIMARY KEY,
    name TEXT NOT NULL,
    adapter TEXT NOT NULL,
    category TEXT NOT NULL,
    visibility TEXT NOT NULL,
    body TEXT NOT NULL,
    updated_at BIGINT NOT NULL
);
CREATE TABLE target_types (
    id TEXT PRIMARY KEY,
    tenant_id TEXT NOT NULL REFERENCES tenants(id) ON DELETE CASCADE,
    name TEXT NOT NULL,
    description TEXT NOT NULL,
    fields TEXT NOT NULL,
    builtin BIGINT NOT NULL DEFAULT 0,
    created_at BIGINT NOT NULL,
    updated_at BIGINT NOT NULL,
    UNIQUE (tenant_id, name)
);
CREATE TABLE integrations (
    id TEXT PRIMARY KEY,
    tenant_id TEXT NOT NULL REFERENCES tenants(id) ON DELETE CASCADE,
    name TEXT NOT NULL,
    type_id TEXT NOT NULL REFERENCES integration_types(id),
    environment TEXT NOT NULL,
    enabled BIGINT NOT NULL DEFAULT 1,
    connection TEXT NOT NULL,
    source TEXT NOT NULL,
    created_at BIGINT NOT NULL,
    updated_at BIGINT NOT NULL,
    UNIQUE (tenant_id, name)
);
CREATE TABLE credentials (
    id TEXT PRIMARY KEY,
    integration_id TEXT NOT NULL REFERENCES integrations(id) ON DELETE CASCADE,
    field TEXT NOT NULL,
    ciphertext TEXT NOT NULL,
    key_id TEXT NOT NULL,
    updated_at BIGINT NOT NULL,
    UNIQUE (integration_id, field)
);
CREATE TABLE conversion_schemas (
    id TEXT PRIMARY KEY,
    integration_id TEXT NOT NULL UNIQUE REFERENCES integrations(id) ON DELETE CASCADE,
    schema_id TEXT NOT NULL,
    name TEXT NOT NULL,
    body TEXT NOT NULL,
    hash TEXT NOT NULL,
    updated_at BIGINT NOT NULL
);
CREATE TABLE sync_tasks (
    id TEXT PRIMARY KEY,
    integration_id TEXT NOT NULL UNIQUE REFERENCES integrations(id) ON DELETE CASCADE,
    direction TEXT NOT NULL,
    schedule TEXT NOT NULL,
    config TEXT NOT NULL,
    retry TEXT NOT NULL,
    paused BIGINT NOT NULL DEFAULT 0,
    next_run_at BIGINT,
    updated_at BIGINT NOT NULL
);
CREATE TABLE executions (
    id TEXT PRIMARY KEY,
    task_id TEXT NOT NULL REFERENCES sync_tasks(id) ON DELETE CASCADE,
    integration_id TEXT NOT NULL REFERENCES integrations(id) ON DELETE CASCADE,
    status TEXT NOT NULL,
    trigger TEXT NOT NULL,
    due_at BIGINT,
    full_run BIGINT NOT NULL DEFAULT 0,
    attempt BIGINT NOT NULL DEFAULT 1,
    queued_at BIGINT NOT NULL,
    not_before BIGINT NOT NULL DEFAULT 0,
    started_at BIGINT,
    finished_at BIGINT,
    lease_owner TEXT,
    lease_until BIGINT,
    lease_token BIGINT NOT NULL DEFAULT 0,
    cancel_requested BIGINT NOT NULL DEFAULT 0,
    phase TEXT NOT NULL DEFAULT 'queued',
    fetched BIGINT NOT NULL DEFAULT 0,
    created BIGINT NOT NULL DEFAULT 0,
    updated BIGINT NOT NULL DEFAULT 0,
    skipped BIGINT NOT NULL DEFAULT 0,
    unchanged BIGINT NOT NULL DEFAULT 0,
    failed BIGINT NOT NULL DEFAULT 0,
    total BIGINT,
    records_per_sec DOUBLE PRECISION NOT NULL DEFAULT 0,
    checkpoint TEXT,
    error TEXT,
    UNIQUE (task_id, due_at)
);
CREATE INDEX executions_status ON executions (status, not_before);
CREATE INDEX executions_integration ON executions (integration_id, queued_at);
CREATE TABLE execution_logs (
    id BIGINT GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    execution_id TEXT NOT NULL REFERENCES executions(id) ON DELETE CASCADE,
    ts BIGINT NOT NULL,
    level TEXT NOT NULL,
    message TEXT NOT NULL
);
CREATE INDEX execution_logs_execution ON execution_logs (execution_id, id);
CREATE TABLE record_errors (
    id BIGINT GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    execution_id TEXT NOT NULL REFERENCES executions(id) ON DELETE CASCADE,
    record_key TEXT,
    field TEXT,
    message TEXT NOT NULL,
    ts BIGINT NOT NULL
);
CREATE INDEX record_errors_execution ON record_errors (execution_id, id);
CREATE TABLE records (
    id TEXT PRIMARY KEY,
    tenant_id TEXT NOT NULL REFERENCES tenants(id) ON DELETE CASCADE,
    target_type TEXT NOT NULL,
    dedup_key TEXT NOT NULL,
    integration_id TEXT,
    data TEXT NOT NULL,
    content_hash TEXT NOT NULL,
    last_execution_id TEXT,
    created_at BIGINT NOT NULL,
    updated_at BIGINT NOT NULL,
    UNIQUE (tenant_id, target_type, dedup_key)
);
CREATE INDEX records_integration ON records (integration_id, target_type);
CREATE TABLE circuit_state (
    integration_id TEXT PRIMARY KEY REFERENCES integrations(id) ON DELETE CASCADE,
    state TEXT NOT NULL,
    failures BIGINT NOT NULL DEFAULT 0,
    successes BIGINT NOT NULL DEFAULT 0,
    opened_at BIGINT,
    updated_at BIGINT NOT NULL
);
CREATE TABLE currency_rates (
    from_code TEXT NOT NULL,
    to_code TEXT NOT NULL,
    rate DOUBLE PRECISION NOT NULL,
    updated_at BIGINT NOT NULL,
    PRIMARY KEY (from_code, to_code)
);
CREATE TABLE audit_log (
    id BIGINT GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    tenant_id TEXT NOT NULL,
    user_name TEXT NOT NULL,
    action TEXT NOT NULL,
    subject TEXT NOT NULL,
    detail TEXT NOT NULL,
    ts BIGINT NOT NULL
);
