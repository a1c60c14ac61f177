-- description: Add log statuses for streamed replies, a last-activity time to sessions, and session forks
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
-- keep it, in the same transaction as the write; 'now' is fixed within a statement, so a
-- statement writing many logs of a session updates it once). Sessions written before this
-- migration start from their newest log.
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
WHEN coalesce((SELECT last_activity_at FROM sessions WHERE id = NEW.session_id), '') < strftime('%Y-%m-%dT%H:%M:%fZ', 'now')
BEGIN
  UPDATE sessions SET last_activity_at = max(coalesce(last_activity_at, ''), strftime('%Y-%m-%dT%H:%M:%fZ', 'now'))
  WHERE id = NEW.session_id;
END;

-- Parent links are left out: clearing them is how deletes avoid nested cascades.
CREATE TRIGGER session_logs_activity_update
AFTER UPDATE OF role, type, content, metadata, status ON session_logs
WHEN coalesce((SELECT last_activity_at FROM sessions WHERE id = NEW.session_id), '') < strftime('%Y-%m-%dT%H:%M:%fZ', 'now')
BEGIN
  UPDATE sessions SET last_activity_at = max(coalesce(last_activity_at, ''), strftime('%Y-%m-%dT%H:%M:%fZ', 'now'))
  WHERE id = NEW.session_id;
END;

CREATE TRIGGER session_logs_activity_delete
AFTER DELETE ON session_logs
WHEN coalesce((SELECT last_activity_at FROM sessions WHERE id = OLD.session_id), '') < strftime('%Y-%m-%dT%H:%M:%fZ', 'now')
BEGIN
  UPDATE sessions SET last_activity_at = max(coalesce(last_activity_at, ''), strftime('%Y-%m-%dT%H:%M:%fZ', 'now'))
  WHERE id = OLD.session_id;
END;

-- A session forked from another: its source (NULL once the source is deleted: the fork
-- keeps its copies) and the source's log it was forked at (NULL: all of them).
CREATE TABLE session_forks (
  session_id        TEXT PRIMARY KEY NOT NULL REFERENCES sessions (id) ON DELETE CASCADE,
  source_session_id TEXT REFERENCES sessions (id) ON DELETE SET NULL,
  at_log_id         INTEGER CHECK (at_log_id IS NULL OR typeof(at_log_id) = 'integer'),
  created_at        TEXT NOT NULL DEFAULT (strftime('%Y-%m-%dT%H:%M:%fZ', 'now')) CHECK (typeof(created_at) = 'text')
);
CREATE INDEX idx_session_forks_source ON session_forks (source_session_id, created_at, session_id)
  WHERE source_session_id IS NOT NULL;
