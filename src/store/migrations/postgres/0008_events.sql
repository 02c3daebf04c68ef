-- The outbox of events (shared/specs/webhooks.md, "Outbound"): each written in the same
-- transaction as the change it tells of, so none is lost and none tells of a change that
-- rolled back. `data` is the event's JSON object; names and ids only, never a secret.
CREATE TABLE events (
    id TEXT PRIMARY KEY,
    tenant_id TEXT NOT NULL REFERENCES tenants(id) ON DELETE CASCADE,
    type TEXT NOT NULL,
    data TEXT NOT NULL,
    occurred_at BIGINT NOT NULL
);
CREATE INDEX events_by_time ON events (tenant_id, occurred_at, id);
CREATE INDEX events_by_type ON events (tenant_id, type, occurred_at);
