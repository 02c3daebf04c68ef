-- Executions in the platform's words. Progress phases are fetching, transforming, saving
-- and complete ('queued' while an execution has not started); rows written before read
-- back in them. A retry is its own execution, naming the one it retries.
UPDATE executions SET phase = CASE phase
    WHEN 'starting' THEN 'fetching'
    WHEN 'running' THEN 'fetching'
    WHEN 'writing' THEN 'saving'
    WHEN 'finishing' THEN 'saving'
    WHEN 'done' THEN 'complete'
    WHEN 'waiting to retry' THEN 'queued'
    WHEN 'rescued' THEN 'queued'
    ELSE phase END
WHERE phase IN ('starting', 'running', 'writing', 'finishing', 'done', 'waiting to retry', 'rescued');
ALTER TABLE executions ADD COLUMN retry_of TEXT REFERENCES executions(id) ON DELETE SET NULL;
CREATE INDEX executions_retry_of ON executions (retry_of);
