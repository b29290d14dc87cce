-- Automation bundles (internal/automation): a trigger, filters and a
-- chain of steps, versioned; their runs and each run's steps.

-- A change written by a bundle's run names the run, so that a run it
-- triggers knows how deep the chain of bundles is (0: not a bundle's).
ALTER TABLE events ADD COLUMN run_id BIGINT NOT NULL DEFAULT 0;

-- definition is the current version's JSON (as the API takes it);
-- trigger_type and trigger_entity repeat what the dispatcher selects on.
-- cursor: the last change event a crm.event bundle has considered.
-- next_fire_at: a schedule's next time (unix µs), 0 when not scheduled.
-- hook_hash is the SHA-256 of a webhook bundle's secret token (looked up
-- by it); hook_token the token sealed by secret.Box, shown to admins.
CREATE TABLE automation_bundles (
    id {{id}},
    name TEXT NOT NULL,
    active BOOLEAN NOT NULL DEFAULT FALSE,
    version INTEGER NOT NULL DEFAULT 1,
    trigger_type TEXT NOT NULL,
    trigger_entity TEXT NOT NULL DEFAULT '',
    definition TEXT NOT NULL,
    cursor BIGINT NOT NULL DEFAULT 0,
    next_fire_at BIGINT NOT NULL DEFAULT 0,
    poll_cursor TEXT NOT NULL DEFAULT '',
    poll_due_at BIGINT NOT NULL DEFAULT 0,
    poll_lease_until BIGINT NOT NULL DEFAULT 0,
    hook_hash TEXT,
    hook_token TEXT NOT NULL DEFAULT '',
    run_as_user_id BIGINT NOT NULL DEFAULT 0,
    created_by_id BIGINT NOT NULL DEFAULT 0,
    updated_by_id BIGINT NOT NULL DEFAULT 0,
    created_at BIGINT NOT NULL,
    updated_at BIGINT NOT NULL,
    UNIQUE (hook_hash)
);
CREATE INDEX automation_bundles_trigger ON automation_bundles (active, trigger_type);

-- Every saved version, so that a run shows the definition it ran.
CREATE TABLE automation_bundle_versions (
    bundle_id BIGINT NOT NULL REFERENCES automation_bundles(id) ON DELETE CASCADE,
    version INTEGER NOT NULL,
    definition TEXT NOT NULL,
    created_by_id BIGINT NOT NULL DEFAULT 0,
    created_at BIGINT NOT NULL,
    PRIMARY KEY (bundle_id, version)
);

-- A run: one trigger item of one bundle. trigger_key is unique per bundle
-- ("event:123", "schedule:…", "hook:…"): that is what makes producing runs
-- idempotent across retries, restarts and instances. trigger is the
-- trigger data ({"event":…,"record":…} for a CRM event, filled when the
-- run starts); order_key serializes runs of one bundle with the same key.
-- step is the index of the next step to run; resume_at is when a waiting
-- run continues (unix µs); lease_until is how long the worker that
-- claimed a running run holds it (a second job of the same run waits).
CREATE TABLE automation_runs (
    id {{id}},
    bundle_id BIGINT NOT NULL REFERENCES automation_bundles(id) ON DELETE CASCADE,
    version INTEGER NOT NULL,
    status TEXT NOT NULL,
    trigger_type TEXT NOT NULL,
    trigger_key TEXT NOT NULL,
    trigger TEXT NOT NULL DEFAULT '',
    event_id BIGINT NOT NULL DEFAULT 0,
    entity TEXT NOT NULL DEFAULT '',
    record_id BIGINT NOT NULL DEFAULT 0,
    order_key TEXT NOT NULL DEFAULT '',
    depth INTEGER NOT NULL DEFAULT 0,
    test BOOLEAN NOT NULL DEFAULT FALSE,
    replay_of BIGINT NOT NULL DEFAULT 0,
    step INTEGER NOT NULL DEFAULT 0,
    attempt INTEGER NOT NULL DEFAULT 0,
    error TEXT NOT NULL DEFAULT '',
    error_step TEXT NOT NULL DEFAULT '',
    filter_trace TEXT NOT NULL DEFAULT '',
    resume_at BIGINT NOT NULL DEFAULT 0,
    lease_until BIGINT NOT NULL DEFAULT 0,
    created_at BIGINT NOT NULL,
    started_at BIGINT NOT NULL DEFAULT 0,
    finished_at BIGINT NOT NULL DEFAULT 0,
    UNIQUE (bundle_id, trigger_key)
);
CREATE INDEX automation_runs_bundle ON automation_runs (bundle_id, id);
CREATE INDEX automation_runs_status ON automation_runs (status, id);
CREATE INDEX automation_runs_order ON automation_runs (bundle_id, order_key, id);
CREATE INDEX automation_runs_record ON automation_runs (entity, record_id, id);

-- Each attempt of each step as it finished: the rendered input, the
-- output, OK or ERROR with the error text.
CREATE TABLE automation_run_steps (
    id {{rowid}},
    run_id BIGINT NOT NULL REFERENCES automation_runs(id) ON DELETE CASCADE,
    seq INTEGER NOT NULL,
    step_id TEXT NOT NULL,
    action TEXT NOT NULL,
    attempt INTEGER NOT NULL,
    status TEXT NOT NULL,
    input TEXT NOT NULL DEFAULT '',
    output TEXT NOT NULL DEFAULT '',
    error TEXT NOT NULL DEFAULT '',
    started_at BIGINT NOT NULL,
    duration_us BIGINT NOT NULL DEFAULT 0
);
CREATE INDEX automation_run_steps_run ON automation_run_steps (run_id, seq, id);
