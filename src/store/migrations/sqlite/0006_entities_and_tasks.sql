-- One connection, many entities and tasks. An integration keeps its connection and
-- credentials; each of its entities is a source request with its conversion schema;
-- each of its sync tasks runs one entity, with its own schedule and config. Every
-- existing integration becomes a connection with one entity (id = the integration's
-- id, named after its source's entity), its schema on that entity, and one task named
-- like the integration. Executions, checkpoints and cursors already belong to tasks.
-- The tables are rebuilt (SQLite cannot drop a column's UNIQUE) with foreign keys off
-- and checked before commit, so nothing that references them is lost.
CREATE TABLE entities (
    id TEXT PRIMARY KEY,
    integration_id TEXT NOT NULL REFERENCES integrations(id) ON DELETE CASCADE,
    name TEXT NOT NULL,
    position INTEGER NOT NULL DEFAULT 0,
    source TEXT NOT NULL,
    created_at INTEGER NOT NULL,
    updated_at INTEGER NOT NULL,
    UNIQUE (integration_id, name)
);
INSERT INTO entities (id, integration_id, name, position, source, created_at, updated_at)
SELECT id, id, COALESCE(json_extract(source, '$.entity'), 'records'), 0, source, created_at, updated_at
FROM integrations;

CREATE TABLE conversion_schemas_new (
    id TEXT PRIMARY KEY,
    integration_id TEXT NOT NULL REFERENCES integrations(id) ON DELETE CASCADE,
    entity_id TEXT NOT NULL UNIQUE REFERENCES entities(id) ON DELETE CASCADE,
    schema_id TEXT NOT NULL,
    name TEXT NOT NULL,
    body TEXT NOT NULL,
    hash TEXT NOT NULL,
    updated_at INTEGER NOT NULL
);
INSERT INTO conversion_schemas_new (id, integration_id, entity_id, schema_id, name, body, hash, updated_at)
SELECT id, integration_id, integration_id, schema_id, name, body, hash, updated_at FROM conversion_schemas;
DROP TABLE conversion_schemas;
ALTER TABLE conversion_schemas_new RENAME TO conversion_schemas;
CREATE INDEX conversion_schemas_integration ON conversion_schemas (integration_id);

CREATE TABLE sync_tasks_new (
    id TEXT PRIMARY KEY,
    integration_id TEXT NOT NULL REFERENCES integrations(id) ON DELETE CASCADE,
    entity_id TEXT NOT NULL REFERENCES entities(id) ON DELETE CASCADE,
    name TEXT NOT NULL,
    position INTEGER NOT NULL DEFAULT 0,
    direction TEXT NOT NULL,
    schedule TEXT NOT NULL,
    config TEXT NOT NULL,
    retry TEXT NOT NULL,
    paused INTEGER NOT NULL DEFAULT 0,
    next_run_at INTEGER,
    updated_at INTEGER NOT NULL,
    UNIQUE (integration_id, name)
);
INSERT INTO sync_tasks_new (id, integration_id, entity_id, name, position, direction, schedule, config,
    retry, paused, next_run_at, updated_at)
SELECT t.id, t.integration_id, t.integration_id, i.name, 0, t.direction, t.schedule, t.config,
    t.retry, t.paused, t.next_run_at, t.updated_at
FROM sync_tasks t JOIN integrations i ON i.id = t.integration_id;
DROP TABLE sync_tasks;
ALTER TABLE sync_tasks_new RENAME TO sync_tasks;
CREATE INDEX sync_tasks_due ON sync_tasks (next_run_at);
CREATE INDEX sync_tasks_entity ON sync_tasks (entity_id);
CREATE INDEX executions_task ON executions (task_id, queued_at);

ALTER TABLE integrations DROP COLUMN source;
