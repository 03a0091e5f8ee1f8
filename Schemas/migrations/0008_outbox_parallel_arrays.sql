-- A packed outbox row's arrays are parallel: the relay reads record i from position i of each. The store now
-- refuses a row whose arrays differ in length (one written by hand or by another tool), which the relay could
-- only refuse to publish, holding back its shard. Added NOT VALID and then validated, so the check of existing
-- rows takes no lock that blocks the workers' inserts.
ALTER TABLE outbox_batch ADD CONSTRAINT outbox_batch_parallel_arrays CHECK (
    cardinality(topics) = record_count AND cardinality(keys) = record_count
    AND cardinality(event_types) = record_count AND cardinality(payloads) = record_count
    AND cardinality(dossiers) = record_count AND cardinality(correlation_ids) = record_count
    AND cardinality(headers) = record_count
) NOT VALID;
ALTER TABLE outbox_batch VALIDATE CONSTRAINT outbox_batch_parallel_arrays;
