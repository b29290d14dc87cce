-- The reports (issue 20, point 15) at 100,000 records: counts kept per
-- hour (of creation, of an activity's start) and per what a report groups
-- and filters by, so that a report reads a few hundred rows instead of
-- every record. store/report.go adds the hours at the period's edges
-- that are not whole from the records themselves, so that any period
-- gives what the full count gives (report_test compares them). The
-- counts are kept by triggers (0025_search_reports.*.sql) in the
-- transaction of every write, whatever its path; a row whose count fell
-- to 0 stays (the reports skip it). Only live records count (deleted_at
-- 0); assigned_by_id is there because the reports filter by manager and
-- a scoped user sees only some managers' records.
--
-- report_leads: leads by hour of creation, source, UTM campaign, manager.
-- report_deals: deals by hour of creation, pipeline, stage, manager; with
-- their amounts (kopecks). report_won: won deals by manager, close date
-- and day of the last change (the report takes the close date when there
-- is one). report_activities: activities by hour of start, manager, done
-- and hour of end (overdue is end < now: only the current hour's count
-- is split by reading its activities).

CREATE TABLE report_leads (
    hour BIGINT NOT NULL,
    source_id TEXT NOT NULL,
    utm_campaign TEXT NOT NULL,
    assigned_by_id BIGINT NOT NULL,
    n BIGINT NOT NULL,
    PRIMARY KEY (hour, source_id, utm_campaign, assigned_by_id)
);

INSERT INTO report_leads (hour, source_id, utm_campaign, assigned_by_id, n)
    SELECT r.created_at / 3600000000, r.source_id, r.utm_campaign, r.assigned_by_id, COUNT(*) FROM leads r WHERE r.deleted_at = 0
    GROUP BY r.created_at / 3600000000, r.source_id, r.utm_campaign, r.assigned_by_id;

CREATE TABLE report_deals (
    hour BIGINT NOT NULL,
    category_id BIGINT NOT NULL,
    stage_id TEXT NOT NULL,
    assigned_by_id BIGINT NOT NULL,
    n BIGINT NOT NULL,
    amount BIGINT NOT NULL,
    PRIMARY KEY (hour, category_id, stage_id, assigned_by_id)
);

INSERT INTO report_deals (hour, category_id, stage_id, assigned_by_id, n, amount)
    SELECT r.created_at / 3600000000, r.category_id, r.stage_id, r.assigned_by_id, COUNT(*), SUM(r.opportunity) FROM deals r WHERE r.deleted_at = 0
    GROUP BY r.created_at / 3600000000, r.category_id, r.stage_id, r.assigned_by_id;

CREATE TABLE report_won (
    assigned_by_id BIGINT NOT NULL,
    close_date TEXT NOT NULL,
    day BIGINT NOT NULL,
    n BIGINT NOT NULL,
    amount BIGINT NOT NULL,
    PRIMARY KEY (assigned_by_id, close_date, day)
);

INSERT INTO report_won (assigned_by_id, close_date, day, n, amount)
    SELECT r.assigned_by_id, r.close_date, r.updated_at / 86400000000, COUNT(*), SUM(r.opportunity) FROM deals r WHERE r.deleted_at = 0 AND r.won = TRUE
    GROUP BY r.assigned_by_id, r.close_date, r.updated_at / 86400000000;

CREATE TABLE report_activities (
    hour BIGINT NOT NULL,
    assigned_by_id BIGINT NOT NULL,
    done BOOLEAN NOT NULL,
    end_hour BIGINT NOT NULL,
    n BIGINT NOT NULL,
    PRIMARY KEY (hour, assigned_by_id, done, end_hour)
);

INSERT INTO report_activities (hour, assigned_by_id, done, end_hour, n)
    SELECT r.start_at / 3600000000, r.assigned_by_id, r.done, r.end_at / 3600000000, COUNT(*) FROM activities r WHERE r.deleted_at = 0
    GROUP BY r.start_at / 3600000000, r.assigned_by_id, r.done, r.end_at / 3600000000;

-- The activities report splits the open activities ending in the current
-- hour into overdue and planned by reading them: by their end.
CREATE INDEX activities_end ON activities (end_at);
