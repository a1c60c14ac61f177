-- description: Add compaction checkpoints: a session's summary of its log up to one entry
-- A table is added, nothing rebuilt. One checkpoint per session: setting it again replaces it.

-- What an app that compacts a long conversation keeps: the summary that stands for the log up
-- to and including through_log_id (an entry of the same session, checked by the library), how
-- many tokens the covered entries took and how many the summary takes (whole numbers a
-- JavaScript number holds exactly), and the app's own metadata. Deleting the session deletes
-- it; deleting the covered entry deletes it too (the point it summarises up to is gone); the
-- index serves that foreign key, so a log delete finds the checkpoint that names it without
-- reading the others.
CREATE TABLE session_checkpoints (
  session_id      TEXT PRIMARY KEY NOT NULL REFERENCES sessions (id) ON DELETE CASCADE,
  through_log_id  INTEGER NOT NULL REFERENCES session_logs (id) ON DELETE CASCADE
                  CHECK (typeof(through_log_id) = 'integer'),
  summary         TEXT NOT NULL CHECK (typeof(summary) = 'text'),
  covered_tokens  INTEGER CHECK (covered_tokens IS NULL OR (typeof(covered_tokens) = 'integer' AND covered_tokens BETWEEN 0 AND 9007199254740991)),
  summary_tokens  INTEGER CHECK (summary_tokens IS NULL OR (typeof(summary_tokens) = 'integer' AND summary_tokens BETWEEN 0 AND 9007199254740991)),
  metadata        TEXT CHECK (metadata IS NULL OR (typeof(metadata) = 'text' AND json_valid(metadata))),
  created_at      TEXT NOT NULL DEFAULT (strftime('%Y-%m-%dT%H:%M:%fZ', 'now')) CHECK (typeof(created_at) = 'text')
);
CREATE INDEX idx_session_checkpoints_log ON session_checkpoints (through_log_id);
