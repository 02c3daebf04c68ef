-- Inbound webhooks (shared/specs/webhooks.md, "Inbound"). An endpoint is a path of a
-- tenant, verified by one signature scheme with its secrets (encrypted like every
-- credential; a rotated-out secret stays valid until it expires), and handled by mapping
-- its payload into records and/or queueing a run of a sync task. A delivery is stored,
-- keyed by its delivery id per endpoint, before it is answered; workers claim stored
-- deliveries with a lease and process them after the answer.
CREATE TABLE webhook_endpoints (
    id TEXT PRIMARY KEY,
    tenant_id TEXT NOT NULL REFERENCES tenants(id) ON DELETE CASCADE,
    path TEXT NOT NULL,
    integration_id TEXT REFERENCES integrations(id) ON DELETE SET NULL,
    task_id TEXT REFERENCES sync_tasks(id) ON DELETE SET NULL,
    handler TEXT NOT NULL,
    records_path TEXT NOT NULL DEFAULT '$',
    scheme TEXT NOT NULL,
    signature_header TEXT,
    id_header TEXT,
    allow_ips TEXT NOT NULL DEFAULT '[]',
    max_body BIGINT NOT NULL DEFAULT 1048576,
    rate_limit BIGINT,
    enabled BIGINT NOT NULL DEFAULT 1,
    received BIGINT NOT NULL DEFAULT 0,
    duplicates BIGINT NOT NULL DEFAULT 0,
    rejected BIGINT NOT NULL DEFAULT 0,
    rejected_signature BIGINT NOT NULL DEFAULT 0,
    rejected_address BIGINT NOT NULL DEFAULT 0,
    rejected_size BIGINT NOT NULL DEFAULT 0,
    rejected_rate BIGINT NOT NULL DEFAULT 0,
    processed BIGINT NOT NULL DEFAULT 0,
    failed BIGINT NOT NULL DEFAULT 0,
    last_received_at BIGINT,
    created_at BIGINT NOT NULL,
    updated_at BIGINT NOT NULL,
    UNIQUE (tenant_id, path)
);
CREATE TABLE webhook_secrets (
    id TEXT PRIMARY KEY,
    endpoint_id TEXT NOT NULL REFERENCES webhook_endpoints(id) ON DELETE CASCADE,
    ciphertext TEXT NOT NULL,
    key_id TEXT NOT NULL,
    created_at BIGINT NOT NULL,
    expires_at BIGINT
);
CREATE INDEX webhook_secrets_endpoint ON webhook_secrets (endpoint_id);
CREATE TABLE inbound_deliveries (
    id TEXT PRIMARY KEY,
    tenant_id TEXT NOT NULL,
    endpoint_id TEXT NOT NULL REFERENCES webhook_endpoints(id) ON DELETE CASCADE,
    delivery_id TEXT NOT NULL,
    received_at BIGINT NOT NULL,
    body TEXT NOT NULL,
    status TEXT NOT NULL DEFAULT 'queued',
    attempts BIGINT NOT NULL DEFAULT 0,
    not_before BIGINT NOT NULL DEFAULT 0,
    lease_owner TEXT,
    lease_until BIGINT,
    execution_id TEXT,
    error TEXT,
    processed_at BIGINT,
    UNIQUE (endpoint_id, delivery_id)
);
CREATE INDEX inbound_deliveries_queue ON inbound_deliveries (status, received_at);
CREATE INDEX inbound_deliveries_received ON inbound_deliveries (received_at);
-- A `records` endpoint's execution reads the delivery it was made for instead of the
-- integration's API; a retry reads it again.
ALTER TABLE executions ADD COLUMN delivery_id TEXT REFERENCES inbound_deliveries(id) ON DELETE SET NULL;
