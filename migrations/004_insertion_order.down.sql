-- Rebuilds agents and sessions exactly as migration 003 defined them; each row keeps its
-- seq as its rowid, so the rows stay in the order they were inserted in.

DROP INDEX idx_session_logs_session_id;
CREATE INDEX idx_session_logs_session_created ON session_logs (session_id, created_at, id);

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
INSERT INTO sessions_new (rowid, id, name, main_agent_id, sub_agent_ids, user_goal, status, external_session_id, model, plan_model, small_model, built_in_tools, mcps, knowledges, configuration, accessible_paths, permission_mode, max_steps, created_at, updated_at)
  SELECT seq, id, name, main_agent_id, sub_agent_ids, user_goal, status, external_session_id, model, plan_model, small_model, built_in_tools, mcps, knowledges, configuration, accessible_paths, permission_mode, max_steps, created_at, updated_at FROM sessions;
DROP TABLE sessions;
ALTER TABLE sessions_new RENAME TO sessions;
CREATE INDEX idx_sessions_agent_created ON sessions (main_agent_id, created_at, id);
CREATE INDEX idx_sessions_created ON sessions (created_at, id);
CREATE INDEX idx_sessions_status_created ON sessions (status, created_at, id);
CREATE INDEX idx_sessions_external_id ON sessions (external_session_id)
  WHERE external_session_id IS NOT NULL;

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
INSERT INTO agents_new (rowid, id, type, name, description, avatar, instructions, model, plan_model, small_model, built_in_tools, mcps, knowledges, configuration, accessible_paths, permission_mode, max_steps, created_at, updated_at)
  SELECT seq, id, type, name, description, avatar, instructions, model, plan_model, small_model, built_in_tools, mcps, knowledges, configuration, accessible_paths, permission_mode, max_steps, created_at, updated_at FROM agents;
DROP TABLE agents;
ALTER TABLE agents_new RENAME TO agents;
CREATE INDEX idx_agents_created ON agents (created_at, id);
CREATE INDEX idx_agents_type_created ON agents (type, created_at, id);

-- The AUTOINCREMENT high-water marks of the seq columns, which 003 did not have.
DELETE FROM sqlite_sequence WHERE name IN ('agents', 'sessions');
