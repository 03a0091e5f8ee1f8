-- Most dossier updates become HOT (heap-only) updates, which add no index entries: no index names a column an
-- ordinary status change writes. The awaiting-receipt index named `status` in its predicate, so every status
-- change added an entry to each of the table's indexes (and left one more dead entry for vacuum); it now names
-- columns that change once (the clock starts at receipt, resolution ends the dossier). Pages keep a fifth free so
-- the new row version fits beside the old one.
DROP INDEX dossier_awaiting_receipt;
CREATE INDEX dossier_awaiting_receipt ON dossier (submitted_at)
    WHERE submitted_at IS NOT NULL AND clock_started_at IS NULL AND resolved_at IS NULL;
ALTER TABLE dossier SET (fillfactor = 80);
