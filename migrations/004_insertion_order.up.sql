-- description: Order lists by an insertion key that only grows, not by the wall clock
-- foreign_keys: off
-- rebuilds: agents, sessions

-- Lists were ordered and paged by created_at, which is what the clock said: a clock stepped
-- back (NTP, a restored VM) put new rows before old ones, and rows created in the same
-- millisecond came back in id order, which is random for UUIDs. Every list now follows a key
-- that only grows, and created_at is kept for display.
--
-- session_logs already has one: id, INTEGER PRIMARY KEY AUTOINCREMENT (never reused, never
-- renumbered). agents and sessions have TEXT primary keys, and their implicit rowid can be
-- renumbered by VACUUM and reused once the newest row is deleted, so they are rebuilt with
-- seq INTEGER PRIMARY KEY AUTOINCREMENT, which SQLite assigns to every row inserted without
-- one, whoever inserts it, and id becomes UNIQUE (still the key foreign keys reference).
-- Existing rows keep their rowid as seq: the order they were inserted in.

CREATE TABLE agents_new (
  id               TEXT NOT NULL UNIQUE CHECK (typeof(id) = 'text' AND length(id) > 0),
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
  updated_at       TEXT NOT NULL DEFAULT (strftime('%Y-%m-%dT%H:%M:%fZ', 'now')) CHECK (typeof(updated_at) = 'text'),
  seq              INTEGER PRIMARY KEY AUTOINCREMENT
);
INSERT INTO agents_new (id, type, name, description, avatar, instructions, model, plan_model, small_model, built_in_tools, mcps, knowledges, configuration, accessible_paths, permission_mode, max_steps, created_at, updated_at, seq)
  SELECT id, type, name, description, avatar, instructions, model, plan_model, small_model, built_in_tools, mcps, knowledges, configuration, accessible_paths, permission_mode, max_steps, created_at, updated_at, rowid FROM agents;
DROP TABLE agents;
ALTER TABLE agents_new RENAME TO agents;
-- Listing agents in insertion order (the table itself), by type.
CREATE INDEX idx_agents_type_seq ON agents (type, seq);

CREATE TABLE sessions_new (
  id                  TEXT NOT NULL UNIQUE CHECK (typeof(id) = 'text' AND length(id) > 0),
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
  updated_at          TEXT NOT NULL DEFAULT (strftime('%Y-%m-%dT%H:%M:%fZ', 'now')) CHECK (typeof(updated_at) = 'text'),
  seq                 INTEGER PRIMARY KEY AUTOINCREMENT
);
INSERT INTO sessions_new (id, name, main_agent_id, sub_agent_ids, user_goal, status, external_session_id, model, plan_model, small_model, built_in_tools, mcps, knowledges, configuration, accessible_paths, permission_mode, max_steps, created_at, updated_at, seq)
  SELECT id, name, main_agent_id, sub_agent_ids, user_goal, status, external_session_id, model, plan_model, small_model, built_in_tools, mcps, knowledges, configuration, accessible_paths, permission_mode, max_steps, created_at, updated_at, rowid FROM sessions;
DROP TABLE sessions;
ALTER TABLE sessions_new RENAME TO sessions;
-- Foreign key and listing newest first: all (the table itself), by agent, by status, by
-- both; lookup by external id (its newest session: the index ends with seq, the rowid).
CREATE INDEX idx_sessions_agent_seq ON sessions (main_agent_id, seq);
CREATE INDEX idx_sessions_status_seq ON sessions (status, seq);
CREATE INDEX idx_sessions_agent_status_seq ON sessions (main_agent_id, status, seq);
CREATE INDEX idx_sessions_external_id ON sessions (external_session_id)
  WHERE external_session_id IS NOT NULL;

-- A session's logs in id order.
DROP INDEX idx_session_logs_session_created;
CREATE INDEX idx_session_logs_session_id ON session_logs (session_id, id);
