-- Step deadlines of liên thông chains: when the current processing step is due (null for single-step procedures,
-- whose only deadline is the dossier's). The SLA watcher warns `step_overdue` once per step due date.
ALTER TABLE dossier ADD COLUMN step_due_at timestamptz;

CREATE INDEX dossier_open_step ON dossier (step_due_at)
    WHERE step_due_at IS NOT NULL AND resolved_at IS NULL AND paused_at IS NULL;
