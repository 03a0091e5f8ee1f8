-- Routing, deadlines, version-gap holds and triage: what a dossier is about (from its opening event), its deadline
-- clock, events held back until the version before them arrives, dossiers a person must route, and each SLA
-- warning once.

ALTER TABLE dossier
    ADD COLUMN procedure               text,
    ADD COLUMN commune                 text,
    ADD COLUMN channel                 text CHECK (channel IN ('online', 'counter', 'postal')),
    ADD COLUMN returns_by_post         boolean NOT NULL DEFAULT false,
    ADD COLUMN submitted_at            timestamptz,
    ADD COLUMN clock_started_at        timestamptz,
    ADD COLUMN clock_changed_at        timestamptz,
    ADD COLUMN due_at                  timestamptz,
    ADD COLUMN original_due_at         timestamptz,
    ADD COLUMN paused_at               timestamptz,
    ADD COLUMN paused_working_seconds  int8 NOT NULL DEFAULT 0,
    ADD COLUMN resolved_at             timestamptz,
    ADD COLUMN on_time_class           text CHECK (on_time_class IN ('early', 'on_time', 'late')),
    ADD COLUMN triage_reason           text;

-- The SLA watcher reads open clocks by due date.
CREATE INDEX dossier_open_clock ON dossier (due_at)
    WHERE due_at IS NOT NULL AND resolved_at IS NULL AND paused_at IS NULL;
CREATE INDEX dossier_awaiting_receipt ON dossier (submitted_at) WHERE status = 1;

-- An event whose version is ahead of its dossier waits here (inbox outcome 'held') until the missing versions
-- arrive, or is triaged after the hold time.
CREATE TABLE held_event (
    event_id   text PRIMARY KEY REFERENCES inbox (event_id),
    dossier    text NOT NULL,
    version    int8 NOT NULL,
    topic      text NOT NULL,
    partition  int4 NOT NULL,
    "offset"   int8 NOT NULL,
    key        bytea,
    value      bytea NOT NULL,
    held_at    timestamptz NOT NULL DEFAULT now()
);
CREATE INDEX held_event_dossier ON held_event (dossier, version);
CREATE INDEX held_event_age ON held_event (held_at);

ALTER TABLE inbox DROP CONSTRAINT inbox_outcome_check;
ALTER TABLE inbox ADD CONSTRAINT inbox_outcome_check
    CHECK (outcome IN ('applied', 'duplicate', 'rejected', 'triaged', 'dead_lettered', 'held'));

-- Dossiers waiting for a person to choose the unit (split pre-merger communes, version gaps past the hold time).
CREATE TABLE triage (
    id           bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    dossier      text NOT NULL,
    event_id     text,
    reason       text NOT NULL,
    candidates   text[] NOT NULL DEFAULT '{}',
    created_at   timestamptz NOT NULL DEFAULT now(),
    resolved_at  timestamptz,
    resolution   text
);
CREATE UNIQUE INDEX triage_open_per_dossier_reason ON triage (dossier, reason) WHERE resolved_at IS NULL;

-- Each SLA warning once per dossier and due date, whichever worker of the fleet notices it.
CREATE TABLE sla_warning (
    dossier     text NOT NULL,
    warning     text NOT NULL,
    due_at      timestamptz NOT NULL,
    emitted_at  timestamptz NOT NULL DEFAULT now(),
    PRIMARY KEY (dossier, warning, due_at)
);

-- Relays publish by shard (a hash of the dossier) under transaction advisory locks, so one dossier's rows are
-- published by one relay at a time, in id order (the partial index on unpublished ids serves them).
ALTER TABLE outbox
    ADD COLUMN shard           int2 NOT NULL DEFAULT 0,
    ADD COLUMN correlation_id  text,
    ADD COLUMN headers         jsonb NOT NULL DEFAULT '{}';
