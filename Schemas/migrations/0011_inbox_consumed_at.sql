-- When the worker's consumer handed each record out (its poll's wall clock), next to `received_at`, the start of
-- the transaction that wrote the row: the difference is the time a record waited in the consumer's buffer behind
-- the transactions before it, and consume-to-published latency starts here. Null for rows written before this
-- migration and for events whose consume time is not known.
ALTER TABLE inbox ADD COLUMN consumed_at timestamptz;
