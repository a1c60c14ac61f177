-- description: Add a status to session logs, for replies that stream
-- Columns are added, never rebuilt, so every row and what an app added stays as it is.

-- A log's status: complete (the default, and every log written before this migration),
-- pending or streaming while a reply is being written, then complete, error or cancelled;
-- interrupted when the process writing it ended before it finished.
ALTER TABLE session_logs ADD COLUMN status TEXT NOT NULL DEFAULT 'complete'
  CHECK (status = 'complete' OR status = 'pending' OR status = 'streaming' OR status = 'error'
         OR status = 'cancelled' OR status = 'interrupted');
-- The few logs that are not complete, by status: recovery after a crash and the list of
-- interrupted logs read only these. Queries repeat the index's WHERE term to use it.
CREATE INDEX idx_session_logs_unfinished ON session_logs (status, created_at, id) WHERE status <> 'complete';
