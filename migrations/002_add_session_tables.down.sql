DROP TRIGGER session_logs_parent_same_session_update;
DROP TRIGGER session_logs_parent_same_session_insert;
DROP INDEX idx_session_logs_parent;
DROP INDEX idx_session_logs_session_created;
DROP TABLE session_logs;
-- SQLite keeps sqlite_sequence (created by AUTOINCREMENT) for good; clear our row in it.
DELETE FROM sqlite_sequence WHERE name = 'session_logs';
DROP INDEX idx_sessions_external_id;
DROP INDEX idx_sessions_status_created;
DROP INDEX idx_sessions_created;
DROP INDEX idx_sessions_agent_created;
DROP TABLE sessions;
