-- description: Add a trash to agents and sessions: when each was moved there, and which sessions went with their agent
-- Columns and indexes are added, never rebuilt. A row is in the trash while deleted_at holds
-- the time it was moved there; lists, counts, lookups and search leave it out, and restoring
-- it clears the column, so it comes back exactly as it was.
ALTER TABLE agents ADD COLUMN deleted_at TEXT CHECK (deleted_at IS NULL OR typeof(deleted_at) = 'text');
ALTER TABLE sessions ADD COLUMN deleted_at TEXT CHECK (deleted_at IS NULL OR typeof(deleted_at) = 'text');
-- 1 for a session moved to the trash by its agent's move there: restoring the agent restores
-- exactly these, not a session moved there on its own before.
ALTER TABLE sessions ADD COLUMN trashed_with_agent INTEGER NOT NULL DEFAULT 0
  CHECK (trashed_with_agent = 0 OR trashed_with_agent = 1);

-- The few rows in the trash, by when they were moved there: the trash's counts, the hidden
-- sessions a search leaves out, purge's trashedBefore. Queries repeat the WHERE term.
CREATE INDEX idx_agents_trashed ON agents (deleted_at) WHERE deleted_at IS NOT NULL;
CREATE INDEX idx_sessions_trashed ON sessions (deleted_at) WHERE deleted_at IS NOT NULL;
