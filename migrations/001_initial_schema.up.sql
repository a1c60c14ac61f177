-- description: Create the agents table and its indexes
-- Timestamps are ISO-8601 UTC with milliseconds (2026-01-02T03:04:05.678Z).
-- JSON columns hold arrays or objects; a CHECK keeps them valid JSON.
CREATE TABLE agents (
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

-- Listing agents in creation order, optionally by type, with a keyset cursor.
CREATE INDEX idx_agents_created ON agents (created_at, id);
CREATE INDEX idx_agents_type_created ON agents (type, created_at, id);
