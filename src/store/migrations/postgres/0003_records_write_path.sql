-- `records` is the table every sync writes to; how each written row is checked, indexed
-- and analysed decides how fast a sync is.
--
-- No foreign key from records to tenants: the check ran as a trigger for every written
-- row and took a share lock on the tenant's row each time. syncdeck never deletes a
-- tenant; the store writes records only under its own tenant id.
ALTER TABLE records DROP CONSTRAINT IF EXISTS records_tenant_id_fkey;

-- Ids and keys compare byte by byte, as they do on SQLite: a locale's collation costs
-- more per comparison in every index insert and lookup, and means nothing for a key.
ALTER TABLE records
    ALTER COLUMN id TYPE TEXT COLLATE "C",
    ALTER COLUMN tenant_id TYPE TEXT COLLATE "C",
    ALTER COLUMN target_type TYPE TEXT COLLATE "C",
    ALTER COLUMN dedup_key TYPE TEXT COLLATE "C",
    ALTER COLUMN integration_id TYPE TEXT COLLATE "C";

-- The planner needs statistics on the columns it filters by (tenant, type, key,
-- integration), not on the record bodies: ANALYZE then skips reading them.
ALTER TABLE records
    ALTER COLUMN data SET STATISTICS 0,
    ALTER COLUMN content_hash SET STATISTICS 0,
    ALTER COLUMN id SET STATISTICS 0,
    ALTER COLUMN last_execution_id SET STATISTICS 0;
