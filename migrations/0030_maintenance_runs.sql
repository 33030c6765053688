-- The due time each maintenance job of the workers last ran for. arq runs a cron job once between all the workers
-- through Redis; with Redis away the workers run it themselves, and this row lets one of them, once per due time.
CREATE TABLE maintenance_runs (
    job    text PRIMARY KEY,
    due_at timestamptz NOT NULL,
    ran_at timestamptz NOT NULL DEFAULT now()
);
