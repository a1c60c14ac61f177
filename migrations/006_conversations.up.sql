-- description: Add log statuses for streamed replies, a last-activity time to sessions, and session forks
-- Columns are added, never rebuilt, so every row and what an app added stays as it is.

-- A log's status: complete (the default, and every log written before this migration),
-- pending or streaming while a reply is being written, then complete, error or cancelled;
-- interrupted when the process writing it ended before it finished.
ALTER TABLE session_logs ADD COLUMN status TEXT NOT NULL DEFAULT 'complete'
  CHECK (status = 'complete' OR status = 'pending' OR status = 'streaming' OR status = 'error'
         OR status = 'cancelled' OR status = 'interrupted');
-- The few logs that are not complete, by status: recovery after a crash and the list of
-- interrupted logs read only these, in id order (the insertion order). Queries repeat the
-- index's WHERE term to use it.
CREATE INDEX idx_session_logs_unfinished ON session_logs (status, id) WHERE status <> 'complete';

-- When anything last happened in a session: its creation, or the last write of one of its
-- logs (insert, update, delete), by this library or by any other tool (the triggers below
-- keep it, in the same transaction as the write). last_activity_at is the time shown;
-- last_activity_seq is the order: a key that only grows, one more than the greatest, given
-- to the session of each activity, so that a clock stepped back cannot reorder the sidebar
-- and no two sessions share a place in it. Its unique index gives the greatest in O(log n)
-- and lists the sidebar without sorting. A session already holding the greatest key keeps
-- it, so a statement writing many logs of a session updates it once ('now' is fixed within
-- a statement). Sessions written before this migration start from their newest log, in the
-- order of that time, then of their insertion.
ALTER TABLE sessions ADD COLUMN last_activity_at TEXT CHECK (last_activity_at IS NULL OR typeof(last_activity_at) = 'text');
ALTER TABLE sessions ADD COLUMN last_activity_seq INTEGER CHECK (last_activity_seq IS NULL OR typeof(last_activity_seq) = 'integer');
UPDATE sessions SET last_activity_at =
  max(created_at, coalesce((SELECT max(updated_at) FROM session_logs WHERE session_id = sessions.id), ''));
UPDATE sessions SET last_activity_seq = ranked.n
  FROM (SELECT seq, row_number() OVER (ORDER BY last_activity_at, seq) AS n FROM sessions) AS ranked
  WHERE sessions.seq = ranked.seq;
CREATE UNIQUE INDEX idx_sessions_activity_seq ON sessions (last_activity_seq);
-- The sidebar of one status, of one agent, of both.
CREATE INDEX idx_sessions_status_activity ON sessions (status, last_activity_seq);
CREATE INDEX idx_sessions_agent_activity ON sessions (main_agent_id, last_activity_seq);
CREATE INDEX idx_sessions_agent_status_activity ON sessions (main_agent_id, status, last_activity_seq);

CREATE TRIGGER sessions_activity_insert
AFTER INSERT ON sessions
WHEN NEW.last_activity_at IS NULL OR NEW.last_activity_seq IS NULL
BEGIN
  UPDATE sessions SET last_activity_at = coalesce(last_activity_at, NEW.created_at),
    last_activity_seq = coalesce(last_activity_seq, (SELECT coalesce(max(last_activity_seq), 0) + 1 FROM sessions))
  WHERE seq = NEW.seq;
END;

CREATE TRIGGER session_logs_activity_insert
AFTER INSERT ON session_logs
BEGIN
  UPDATE sessions SET last_activity_at = max(coalesce(last_activity_at, ''), strftime('%Y-%m-%dT%H:%M:%fZ', 'now')),
    last_activity_seq = (SELECT coalesce(max(last_activity_seq), 0) + 1 FROM sessions)
  WHERE id = NEW.session_id
    AND (coalesce(last_activity_at, '') < strftime('%Y-%m-%dT%H:%M:%fZ', 'now')
         OR last_activity_seq IS NOT (SELECT max(last_activity_seq) FROM sessions));
END;

-- Parent links are left out: clearing them is how deletes avoid nested cascades.
CREATE TRIGGER session_logs_activity_update
AFTER UPDATE OF role, type, content, metadata, status ON session_logs
BEGIN
  UPDATE sessions SET last_activity_at = max(coalesce(last_activity_at, ''), strftime('%Y-%m-%dT%H:%M:%fZ', 'now')),
    last_activity_seq = (SELECT coalesce(max(last_activity_seq), 0) + 1 FROM sessions)
  WHERE id = NEW.session_id
    AND (coalesce(last_activity_at, '') < strftime('%Y-%m-%dT%H:%M:%fZ', 'now')
         OR last_activity_seq IS NOT (SELECT max(last_activity_seq) FROM sessions));
END;

CREATE TRIGGER session_logs_activity_delete
AFTER DELETE ON session_logs
BEGIN
  UPDATE sessions SET last_activity_at = max(coalesce(last_activity_at, ''), strftime('%Y-%m-%dT%H:%M:%fZ', 'now')),
    last_activity_seq = (SELECT coalesce(max(last_activity_seq), 0) + 1 FROM sessions)
  WHERE id = OLD.session_id
    AND (coalesce(last_activity_at, '') < strftime('%Y-%m-%dT%H:%M:%fZ', 'now')
         OR last_activity_seq IS NOT (SELECT max(last_activity_seq) FROM sessions));
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
