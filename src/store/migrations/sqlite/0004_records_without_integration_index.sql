-- Every written record updated the index on (integration_id, target_type): a fifth of
-- a PostgreSQL batch's time, with all of a run's rows sharing one key. Its one reader is
-- the delete of unseen records after a full run with deleteIfRemoved, once per run,
-- which now reads the type's records through the unique (tenant, type, key) index.
DROP INDEX IF EXISTS records_integration;
