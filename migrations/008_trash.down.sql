DROP INDEX idx_sessions_trashed;
DROP INDEX idx_agents_trashed;
ALTER TABLE sessions DROP COLUMN trashed_with_agent;
ALTER TABLE sessions DROP COLUMN deleted_at;
ALTER TABLE agents DROP COLUMN deleted_at;
