-- The inbox is written once per consumed record and read by position only by `lienthong reconcile`, which now
-- reads a topic's inbox rows in one pass instead of once per partition. The index on (topic, partition, offset)
-- cost each batch an index insert per event, about half of the inbox insert's time; it goes.
DROP INDEX IF EXISTS inbox_position;
