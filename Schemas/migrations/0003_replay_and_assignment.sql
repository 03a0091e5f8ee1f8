-- Operators' actions, recorded: dead letters re-published to the inbound topic after a fix, and the unit a person
-- chose for a triaged dossier.

CREATE TABLE dead_letter_replay (
    id                bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    dead_letter_id    text NOT NULL REFERENCES outbox (event_id),
    replayed_at       timestamptz NOT NULL DEFAULT now(),
    replayed_by       text NOT NULL,
    note              text,
    topic             text NOT NULL,
    partition         int4 NOT NULL,
    "offset"          int8 NOT NULL
);
CREATE INDEX dead_letter_replay_letter ON dead_letter_replay (dead_letter_id);

ALTER TABLE triage
    ADD COLUMN assigned_unit  text,
    ADD COLUMN resolved_by    text;
