-- LienThong's dossier store: current state, hash-chained history, inbox (idempotence), outbox (publication) and
-- consumer positions, all written in one transaction per consumed batch.

CREATE TABLE dossier (
    code                   text PRIMARY KEY CHECK (code IS NFC NORMALIZED),
    status                 int2 NOT NULL CHECK (status BETWEEN 1 AND 10),
    version                int8 NOT NULL CHECK (version >= 1),
    holder                 text,
    step                   int4 NOT NULL DEFAULT 0,
    portal_synced_version  int8 NOT NULL DEFAULT 0,
    status_changed_at      timestamptz NOT NULL,
    history_sequence       int8 NOT NULL,
    last_hash              bytea NOT NULL,
    updated_at             timestamptz NOT NULL DEFAULT now()
);

-- Append-only: each row is chained to the previous row of its dossier by hash (tamper evidence).
CREATE TABLE dossier_history (
    dossier         text NOT NULL,
    sequence        int8 NOT NULL,
    version         int8 NOT NULL,
    event_id        text NOT NULL,
    event_type      text NOT NULL,
    status          int2 NOT NULL,
    occurred_at_ms  int8 NOT NULL,
    payload_sha256  bytea NOT NULL,
    prev_hash       bytea NOT NULL,
    hash            bytea NOT NULL,
    recorded_at     timestamptz NOT NULL DEFAULT now(),
    PRIMARY KEY (dossier, sequence)
);

-- Every consumed event id, once: a second delivery is a duplicate and has no effect.
CREATE TABLE inbox (
    event_id     text PRIMARY KEY,
    topic        text NOT NULL,
    partition    int4 NOT NULL,
    "offset"     int8 NOT NULL,
    outcome      text NOT NULL CHECK (outcome IN ('applied', 'duplicate', 'rejected', 'triaged', 'dead_lettered')),
    reason       text,
    received_at  timestamptz NOT NULL DEFAULT now()
);
CREATE INDEX inbox_position ON inbox (topic, partition, "offset");

-- Records to publish; a relay marks them published only after the broker confirmed delivery.
CREATE TABLE outbox (
    id            bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    topic         text NOT NULL,
    key           text NOT NULL,
    event_id      text NOT NULL UNIQUE,
    event_type    text NOT NULL,
    payload       jsonb NOT NULL,
    dossier       text NOT NULL,
    created_at    timestamptz NOT NULL DEFAULT now(),
    published_at  timestamptz,
    attempts      int4 NOT NULL DEFAULT 0
);
CREATE INDEX outbox_unpublished ON outbox (id) WHERE published_at IS NULL;

-- The next offset to consume per partition, written with the batch it accounts for.
CREATE TABLE consumer_position (
    consumer_group  text NOT NULL,
    topic           text NOT NULL,
    partition       int4 NOT NULL,
    next_offset     int8 NOT NULL,
    updated_at      timestamptz NOT NULL DEFAULT now(),
    PRIMARY KEY (consumer_group, topic, partition)
);
