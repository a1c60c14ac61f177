-- Rebuilds the three tables exactly as migrations 001 and 002 defined them.

CREATE TABLE session_logs_new (
  id         INTEGER PRIMARY KEY AUTOINCREMENT,
  session_id TEXT NOT NULL REFERENCES sessions (id) ON DELETE CASCADE,
  parent_id  INTEGER REFERENCES session_logs (id) ON DELETE CASCADE,
  role       TEXT NOT NULL CHECK (role IN ('user', 'agent', 'system', 'tool')),
  type       TEXT NOT NULL CHECK (type IN ('message', 'thought', 'action', 'observation')),
  content    TEXT NOT NULL CHECK (json_valid(content)),
  metadata   TEXT CHECK (metadata IS NULL OR json_valid(metadata)),
  created_at TEXT NOT NULL DEFAULT (strftime('%Y-%m-%dT%H:%M:%fZ', 'now')),
  updated_at TEXT NOT NULL DEFAULT (strftime('%Y-%m-%dT%H:%M:%fZ', 'now'))
);
INSERT INTO session_logs_new SELECT * FROM session_logs;
-- Keep AUTOINCREMENT's high-water mark, so that ids of deleted logs are never reused.
INSERT OR REPLACE INTO sqlite_sequence (rowid, name, seq)
  SELECT (SELECT rowid FROM sqlite_sequence WHERE name = 'session_logs_new'), 'session_logs_new', max(seq)
  FROM sqlite_sequence WHERE name IN ('session_logs', 'session_logs_new') HAVING count(*) > 0;
DROP TABLE session_logs;
ALTER TABLE session_logs_new RENAME TO session_logs;
CREATE INDEX idx_session_logs_session_created ON session_logs (session_id, created_at, id);
CREATE INDEX idx_session_logs_parent ON session_logs (parent_id) WHERE parent_id IS NOT NULL;

-- A log's parent must belong to the same session.
CREATE TRIGGER session_logs_parent_same_session_insert
BEFORE INSERT ON session_logs
WHEN NEW.parent_id IS NOT NULL
 AND (SELECT session_id FROM session_logs WHERE id = NEW.parent_id) IS NOT NEW.session_id
BEGIN
  SELECT RAISE(ABORT, 'session_logs.parent_id must name a log of the same session');
END;

CREATE TRIGGER session_logs_parent_same_session_update
BEFORE UPDATE OF parent_id, session_id ON session_logs
WHEN NEW.parent_id IS NOT NULL
 AND (SELECT session_id FROM session_logs WHERE id = NEW.parent_id) IS NOT NEW.session_id
BEGIN
  SELECT RAISE(ABORT, 'session_logs.parent_id must name a log of the same session');
END;


CREATE TABLE sessions_new (
  id                  TEXT PRIMARY KEY NOT NULL CHECK (length(id) > 0),
  name                TEXT,
  main_agent_id       TEXT NOT NULL REFERENCES agents (id) ON DELETE CASCADE,
  sub_agent_ids       TEXT NOT NULL DEFAULT '[]' CHECK (json_valid(sub_agent_ids)),
  user_goal           TEXT,
  status              TEXT NOT NULL DEFAULT 'idle'
                      CHECK (status IN ('idle', 'running', 'completed', 'failed', 'stopped')),
  external_session_id TEXT,
  model               TEXT,
  plan_model          TEXT,
  small_model         TEXT,
  built_in_tools      TEXT CHECK (built_in_tools IS NULL OR json_valid(built_in_tools)),
  mcps                TEXT CHECK (mcps IS NULL OR json_valid(mcps)),
  knowledges          TEXT CHECK (knowledges IS NULL OR json_valid(knowledges)),
  configuration       TEXT CHECK (configuration IS NULL OR json_valid(configuration)),
  accessible_paths    TEXT CHECK (accessible_paths IS NULL OR json_valid(accessible_paths)),
  permission_mode     TEXT CHECK (permission_mode IS NULL
                                  OR permission_mode IN ('readOnly', 'acceptEdits', 'bypassPermissions')),
  max_steps           INTEGER CHECK (max_steps IS NULL OR max_steps > 0),
  created_at          TEXT NOT NULL DEFAULT (strftime('%Y-%m-%dT%H:%M:%fZ', 'now')),
  updated_at          TEXT NOT NULL DEFAULT (strftime('%Y-%m-%dT%H:%M:%fZ', 'now'))
);
INSERT INTO sessions_new SELECT * FROM sessions;
DROP TABLE sessions;
ALTER TABLE sessions_new RENAME TO sessions;
CREATE INDEX idx_sessions_agent_created ON sessions (main_agent_id, created_at, id);
CREATE INDEX idx_sessions_created ON sessions (created_at, id);
CREATE INDEX idx_sessions_status_created ON sessions (status, created_at, id);
CREATE INDEX idx_sessions_external_id ON sessions (external_session_id)
  WHERE external_session_id IS NOT NULL;

CREATE TABLE agents_new (
  id               TEXT PRIMARY KEY NOT NULL CHECK (length(id) > 0),
  type             TEXT NOT NULL DEFAULT 'custom' CHECK (type IN ('claudeCode', 'codex', 'custom')),
  name             TEXT NOT NULL,
  description      TEXT,
  avatar           TEXT,
  instructions     TEXT,
  model            TEXT NOT NULL,
  plan_model       TEXT,
  small_model      TEXT,
  built_in_tools   TEXT NOT NULL DEFAULT '[]' CHECK (json_valid(built_in_tools)),
  mcps             TEXT NOT NULL DEFAULT '[]' CHECK (json_valid(mcps)),
  knowledges       TEXT NOT NULL DEFAULT '[]' CHECK (json_valid(knowledges)),
  configuration    TEXT NOT NULL DEFAULT '{}' CHECK (json_valid(configuration)),
  accessible_paths TEXT NOT NULL DEFAULT '[]' CHECK (json_valid(accessible_paths)),
  permission_mode  TEXT NOT NULL DEFAULT 'readOnly'
                   CHECK (permission_mode IN ('readOnly', 'acceptEdits', 'bypassPermissions')),
  max_steps        INTEGER NOT NULL DEFAULT 10 CHECK (max_steps > 0),
  created_at       TEXT NOT NULL DEFAULT (strftime('%Y-%m-%dT%H:%M:%fZ', 'now')),
  updated_at       TEXT NOT NULL DEFAULT (strftime('%Y-%m-%dT%H:%M:%fZ', 'now'))
);
INSERT INTO agents_new SELECT * FROM agents;
DROP TABLE agents;
ALTER TABLE agents_new RENAME TO agents;
CREATE INDEX idx_agents_created ON agents (created_at, id);
CREATE INDEX idx_agents_type_created ON agents (type, created_at, id);
