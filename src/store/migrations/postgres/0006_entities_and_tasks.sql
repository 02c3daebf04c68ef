-- One connection, many entities and tasks. An integration keeps its connection and
-- credentials; each of its entities is a source request with its conversion schema;
-- each of its sync tasks runs one entity, with its own schedule and config. Every
-- existing integration becomes a connection with one entity (id = the integration's
-- id, named after its source's entity), its schema on that entity, and one task named
-- like the integration. Executions, checkpoints and cursors already belong to tasks.
CREATE TABLE entities (
    id TEXT PRIMARY KEY,
    integration_id TEXT NOT NULL REFERENCES integrations(id) ON DELETE CASCADE,
    name TEXT NOT NULL,
    position BIGINT NOT NULL DEFAULT 0,
    source TEXT NOT NULL,
    created_at BIGINT NOT NULL,
    updated_at BIGINT NOT NULL,
    UNIQUE (integration_id, name)
);
INSERT INTO entities (id, integration_id, name, position, source, created_at, updated_at)
SELECT id, id, COALESCE(source::jsonb ->> 'entity', 'records'), 0, source, created_at, updated_at
FROM integrations;

ALTER TABLE conversion_schemas ADD COLUMN entity_id TEXT REFERENCES entities(id) ON DELETE CASCADE;
UPDATE conversion_schemas SET entity_id = integration_id;
ALTER TABLE conversion_schemas ALTER COLUMN entity_id SET NOT NULL;
ALTER TABLE conversion_schemas DROP CONSTRAINT conversion_schemas_integration_id_key;
ALTER TABLE conversion_schemas ADD CONSTRAINT conversion_schemas_entity_id_key UNIQUE (entity_id);
CREATE INDEX conversion_schemas_integration ON conversion_schemas (integration_id);

ALTER TABLE sync_tasks ADD COLUMN entity_id TEXT REFERENCES entities(id) ON DELETE CASCADE;
ALTER TABLE sync_tasks ADD COLUMN name TEXT;
ALTER TABLE sync_tasks ADD COLUMN position BIGINT NOT NULL DEFAULT 0;
UPDATE sync_tasks t SET entity_id = t.integration_id, name = i.name
FROM integrations i WHERE i.id = t.integration_id;
ALTER TABLE sync_tasks ALTER COLUMN entity_id SET NOT NULL;
ALTER TABLE sync_tasks ALTER COLUMN name SET NOT NULL;
ALTER TABLE sync_tasks DROP CONSTRAINT sync_tasks_integration_id_key;
ALTER TABLE sync_tasks ADD CONSTRAINT sync_tasks_integration_id_name_key UNIQUE (integration_id, name);
CREATE INDEX sync_tasks_due ON sync_tasks (next_run_at);
CREATE INDEX sync_tasks_entity ON sync_tasks (entity_id);
CREATE INDEX executions_task ON executions (task_id, queued_at);

ALTER TABLE integrations DROP COLUMN source;
