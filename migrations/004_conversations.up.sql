-- description: Add log statuses for streamed replies and a last-activity time to sessions
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

-- When anything last happened in a session: its creation, or the last write of one of its
-- logs (insert, update, delete), by this library or by any other tool (the triggers below
-- keep it, in the same transaction as the write). Sessions written before this migration
-- start from their newest log.
ALTER TABLE sessions ADD COLUMN last_activity_at TEXT CHECK (last_activity_at IS NULL OR typeof(last_activity_at) = 'text');
UPDATE sessions SET last_activity_at =
  max(created_at, coalesce((SELECT max(updated_at) FROM session_logs WHERE session_id = sessions.id), ''));
CREATE INDEX idx_sessions_activity ON sessions (last_activity_at, id);

CREATE TRIGGER sessions_activity_insert
AFTER INSERT ON sessions
WHEN NEW.last_activity_at IS NULL
BEGIN
  UPDATE sessions SET last_activity_at = NEW.created_at WHERE id = NEW.id;
END;

CREATE TRIGGER session_logs_activity_insert
AFTER INSERT ON session_logs
BEGIN
  UPDATE sessions SET last_activity_at = max(coalesce(last_activity_at, ''), strftime('%Y-%m-%dT%H:%M:%fZ', 'now'))
  WHERE id = NEW.session_id;
END;

-- Parent links are left out: clearing them is how deletes avoid nested cascades.
CREATE TRIGGER session_logs_activity_update
AFTER UPDATE OF role, type, content, metadata, status ON session_logs
BEGIN
  UPDATE sessions SET last_activity_at = max(coalesce(last_activity_at, ''), strftime('%Y-%m-%dT%H:%M:%fZ', 'now'))
  WHERE id = NEW.session_id;
END;

CREATE TRIGGER session_logs_activity_delete
AFTER DELETE ON session_logs
BEGIN
  UPDATE sessions SET last_activity_at = max(coalesce(last_activity_at, ''), strftime('%Y-%m-%dT%H:%M:%fZ', 'now'))
  WHERE id = OLD.session_id;
END;
