-- At most one running execution per task, whichever worker claims it: two claims that
-- race past the "no run of this task is running" check cannot both commit.
CREATE UNIQUE INDEX executions_one_running_per_task ON executions (task_id) WHERE status = 'running';

-- The engines that are alive: each started engine (a `syncdeck worker`, or the console's
-- embedded one) writes its heartbeat here; the console's header counts the recent ones.
CREATE TABLE workers (
    name TEXT PRIMARY KEY,
    started_at BIGINT NOT NULL,
    last_seen BIGINT NOT NULL,
    concurrency BIGINT NOT NULL
);

-- The executions history pages newest first, filtered in the database.
CREATE INDEX executions_queued ON executions (queued_at, id);
