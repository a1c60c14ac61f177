-- description: Rebuild the agents, sessions and session_logs tables with CHECKs that cost no temporary b-tree per row and that check each column's type
-- foreign_keys: off
-- rebuilds: agents, sessions, session_logs

-- Lists must be JSON arrays and configurations JSON objects.
-- Every row is copied as it is. A value of the wrong type (max_steps = 'lots' written by
-- raw SQL or another tool) stops the upgrade with a CHECK failure naming the column; fix the
-- row, then migrate again. Enumerations are OR chains, not IN lists, because SQLite
-- evaluates `x IN ('a', 'b', 'c')` in a CHECK through a temporary b-tree built for every
-- row written.

CREATE TABLE agents_new (
  id               TEXT PRIMARY KEY NOT NULL CHECK (typeof(id) = 'text' AND length(id) > 0),
  type             TEXT NOT NULL DEFAULT 'custom' CHECK (type = 'claudeCode' OR type = 'codex' OR type = 'custom'),
  name             TEXT NOT NULL CHECK (typeof(name) = 'text'),
  description      TEXT CHECK (description IS NULL OR typeof(description) = 'text'),
  avatar           TEXT CHECK (avatar IS NULL OR typeof(avatar) = 'text'),
  instructions     TEXT CHECK (instructions IS NULL OR typeof(instructions) = 'text'),
  model            TEXT NOT NULL CHECK (typeof(model) = 'text'),
  plan_model       TEXT CHECK (plan_model IS NULL OR typeof(plan_model) = 'text'),
  small_model      TEXT CHECK (small_model IS NULL OR typeof(small_model) = 'text'),
  built_in_tools   TEXT NOT NULL DEFAULT '[]' CHECK (typeof(built_in_tools) = 'text' AND json_valid(built_in_tools) AND json_type(built_in_tools) = 'array'),
  mcps             TEXT NOT NULL DEFAULT '[]' CHECK (typeof(mcps) = 'text' AND json_valid(mcps) AND json_type(mcps) = 'array'),
  knowledges       TEXT NOT NULL DEFAULT '[]' CHECK (typeof(knowledges) = 'text' AND json_valid(knowledges) AND json_type(knowledges) = 'array'),
  configuration    TEXT NOT NULL DEFAULT '{}' CHECK (typeof(configuration) = 'text' AND json_valid(configuration) AND json_type(configuration) = 'object'),
  accessible_paths TEXT NOT NULL DEFAULT '[]' CHECK (typeof(accessible_paths) = 'text' AND json_valid(accessible_paths) AND json_type(accessible_paths) = 'array'),
  permission_mode  TEXT NOT NULL DEFAULT 'readOnly'
                   CHECK (permission_mode = 'readOnly' OR permission_mode = 'acceptEdits' OR permission_mode = 'bypassPermissions'),
  max_steps        INTEGER NOT NULL DEFAULT 10 CHECK (typeof(max_steps) = 'integer' AND max_steps > 0),
  created_at       TEXT NOT NULL DEFAULT (strftime('%Y-%m-%dT%H:%M:%fZ', 'now')) CHECK (typeof(created_at) = 'text'),
  updated_at       TEXT NOT NULL DEFAULT (strftime('%Y-%m-%dT%H:%M:%fZ', 'now')) CHECK (typeof(updated_at) = 'text')
);
INSERT INTO agents_new SELECT * FROM agents;
DROP TABLE agents;
ALTER TABLE agents_new RENAME TO agents;
CREATE INDEX idx_agents_created ON agents (created_at, id);
CREATE INDEX idx_agents_type_created ON agents (type, created_at, id);

CREATE TABLE sessions_new (
  id                  TEXT PRIMARY KEY NOT NULL CHECK (typeof(id) = 'text' AND length(id) > 0),
  name                TEXT CHECK (name IS NULL OR typeof(name) = 'text'),
  main_agent_id       TEXT NOT NULL REFERENCES agents (id) ON DELETE CASCADE,
  sub_agent_ids       TEXT NOT NULL DEFAULT '[]' CHECK (typeof(sub_agent_ids) = 'text' AND json_valid(sub_agent_ids) AND json_type(sub_agent_ids) = 'array'),
  user_goal           TEXT CHECK (user_goal IS NULL OR typeof(user_goal) = 'text'),
  status              TEXT NOT NULL DEFAULT 'idle'
                      CHECK (status = 'idle' OR status = 'running' OR status = 'completed' OR status = 'failed' OR status = 'stopped'),
  external_session_id TEXT CHECK (external_session_id IS NULL OR typeof(external_session_id) = 'text'),
  model               TEXT CHECK (model IS NULL OR typeof(model) = 'text'),
  plan_model          TEXT CHECK (plan_model IS NULL OR typeof(plan_model) = 'text'),
  small_model         TEXT CHECK (small_model IS NULL OR typeof(small_model) = 'text'),
  built_in_tools      TEXT CHECK (built_in_tools IS NULL OR (typeof(built_in_tools) = 'text' AND json_valid(built_in_tools) AND json_type(built_in_tools) = 'array')),
  mcps                TEXT CHECK (mcps IS NULL OR (typeof(mcps) = 'text' AND json_valid(mcps) AND json_type(mcps) = 'array')),
  knowledges          TEXT CHECK (knowledges IS NULL OR (typeof(knowledges) = 'text' AND json_valid(knowledges) AND json_type(knowledges) = 'array')),
  configuration       TEXT CHECK (configuration IS NULL OR (typeof(configuration) = 'text' AND json_valid(configuration) AND json_type(configuration) = 'object')),
  accessible_paths    TEXT CHECK (accessible_paths IS NULL OR (typeof(accessible_paths) = 'text' AND json_valid(accessible_paths) AND json_type(accessible_paths) = 'array')),
  permission_mode     TEXT CHECK (permission_mode IS NULL OR permission_mode = 'readOnly' OR permission_mode = 'acceptEdits' OR permission_mode = 'bypassPermissions'),
  max_steps           INTEGER CHECK (max_steps IS NULL OR (typeof(max_steps) = 'integer' AND max_steps > 0)),
  created_at          TEXT NOT NULL DEFAULT (strftime('%Y-%m-%dT%H:%M:%fZ', 'now')) CHECK (typeof(created_at) = 'text'),
  updated_at          TEXT NOT NULL DEFAULT (strftime('%Y-%m-%dT%H:%M:%fZ', 'now')) CHECK (typeof(updated_at) = 'text')
);
INSERT INTO sessions_new SELECT * FROM sessions;
DROP TABLE sessions;
ALTER TABLE sessions_new RENAME TO sessions;
CREATE INDEX idx_sessions_agent_created ON sessions (main_agent_id, created_at, id);
CREATE INDEX idx_sessions_created ON sessions (created_at, id);
CREATE INDEX idx_sessions_status_created ON sessions (status, created_at, id);
CREATE INDEX idx_sessions_external_id ON sessions (external_session_id)
  WHERE external_session_id IS NOT NULL;

CREATE TABLE session_logs_new (
  id         INTEGER PRIMARY KEY AUTOINCREMENT,
  session_id TEXT NOT NULL REFERENCES sessions (id) ON DELETE CASCADE,
  parent_id  INTEGER REFERENCES session_logs (id) ON DELETE CASCADE,
  role       TEXT NOT NULL CHECK (role = 'user' OR role = 'agent' OR role = 'system' OR role = 'tool'),
  type       TEXT NOT NULL CHECK (type = 'message' OR type = 'thought' OR type = 'action' OR type = 'observation'),
  content    TEXT NOT NULL CHECK (typeof(content) = 'text' AND json_valid(content)),
  metadata   TEXT CHECK (metadata IS NULL OR (typeof(metadata) = 'text' AND json_valid(metadata))),
  created_at TEXT NOT NULL DEFAULT (strftime('%Y-%m-%dT%H:%M:%fZ', 'now')) CHECK (typeof(created_at) = 'text'),
  updated_at TEXT NOT NULL DEFAULT (strftime('%Y-%m-%dT%H:%M:%fZ', 'now')) CHECK (typeof(updated_at) = 'text')
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

