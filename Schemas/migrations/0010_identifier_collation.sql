-- Identifiers compare as bytes. Dossier codes and event ids are looked up for equality and sorted only to lock
-- rows in a fixed order, never shown in a language's order; under a cluster's default collation (en_US.UTF-8,
-- C.UTF-8) every comparison in their B-trees went through the locale's strcoll, copying both values to terminate
-- them first, and these indexes are searched for every event (the dossier's row, its history, the inbox). Byte
-- order also makes `ORDER BY code` (the order batches lock dossiers in) the same on every cluster.
-- The indexes on these columns are rebuilt under an exclusive lock on each table: on a large store, migrate while
-- the workers are stopped.
ALTER TABLE dossier ALTER COLUMN code TYPE text COLLATE "C";
ALTER TABLE dossier_history ALTER COLUMN dossier TYPE text COLLATE "C";
ALTER TABLE inbox ALTER COLUMN event_id TYPE text COLLATE "C";
ALTER TABLE held_event ALTER COLUMN event_id TYPE text COLLATE "C", ALTER COLUMN dossier TYPE text COLLATE "C";
