-- description: Full-text search over session logs and over session names and goals
-- The indexes hold text prepared by the library (see docs/search.md): SQLite's built-in
-- unicode61 tokenizer, case folded, diacritics removed. Plain SQL triggers only record which
-- rows changed, so any tool that can write the file (the sqlite3 shell included) keeps the
-- index exact: the library indexes the recorded rows before it commits its own writes, at
-- open and before a search. This migration records every existing row; the library indexes
-- them in the same transaction, in chunks, reporting progress.

-- One row per log with searchable text, its rowid the log's id. Contentless: the text is
-- the log's, read from session_logs when a hit is shown.
CREATE VIRTUAL TABLE log_search USING fts5(
  body, content = '', contentless_delete = 1, tokenize = 'unicode61 remove_diacritics 2'
);

-- Session names and goals, a row per session with text, keyed by the session's id.
CREATE VIRTUAL TABLE session_search USING fts5(
  session_id UNINDEXED, body, tokenize = 'unicode61 remove_diacritics 2'
);

-- The searchText given with a log, which replaces the text extracted from its content
-- until its content changes.
CREATE TABLE log_search_text (
  log_id INTEGER PRIMARY KEY NOT NULL,
  text   TEXT NOT NULL CHECK (typeof(text) = 'text')
);

-- Rows whose index entry is out of date: inserted, changed or deleted since last indexed.
CREATE TABLE log_search_pending (log_id INTEGER PRIMARY KEY NOT NULL);
CREATE TABLE session_search_pending (session_id TEXT PRIMARY KEY NOT NULL) WITHOUT ROWID;

-- A row already recorded is not recorded again. The upsert clause keeps it so whatever the
-- conflict clause of the statement that fires the trigger (INSERT OR ROLLBACK …), which
-- would override an OR IGNORE; and VALUES, not a SELECT from the recorded table, spares
-- SQLite a temporary table per row.
CREATE TRIGGER log_search_after_insert AFTER INSERT ON session_logs
BEGIN
  INSERT INTO log_search_pending (log_id) VALUES (NEW.id) ON CONFLICT DO NOTHING;
END;

CREATE TRIGGER log_search_after_update AFTER UPDATE OF id, content ON session_logs
BEGIN
  DELETE FROM log_search_text WHERE log_id = OLD.id;
  INSERT INTO log_search_pending (log_id) VALUES (OLD.id) ON CONFLICT DO NOTHING;
  INSERT INTO log_search_pending (log_id) VALUES (NEW.id) ON CONFLICT DO NOTHING;
END;

CREATE TRIGGER log_search_after_delete AFTER DELETE ON session_logs
BEGIN
  DELETE FROM log_search_text WHERE log_id = OLD.id;
  INSERT INTO log_search_pending (log_id) VALUES (OLD.id) ON CONFLICT DO NOTHING;
END;

CREATE TRIGGER session_search_after_insert AFTER INSERT ON sessions
BEGIN
  INSERT INTO session_search_pending (session_id) VALUES (NEW.id) ON CONFLICT DO NOTHING;
END;

CREATE TRIGGER session_search_after_update AFTER UPDATE OF id, name, user_goal ON sessions
BEGIN
  INSERT INTO session_search_pending (session_id) VALUES (OLD.id) ON CONFLICT DO NOTHING;
  INSERT INTO session_search_pending (session_id) VALUES (NEW.id) ON CONFLICT DO NOTHING;
END;

CREATE TRIGGER session_search_after_delete AFTER DELETE ON sessions
BEGIN
  INSERT INTO session_search_pending (session_id) VALUES (OLD.id) ON CONFLICT DO NOTHING;
END;

-- Every existing row is to be indexed.
INSERT INTO log_search_pending (log_id) SELECT id FROM session_logs;
INSERT INTO session_search_pending (session_id) SELECT id FROM sessions;
