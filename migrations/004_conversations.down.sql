DROP TRIGGER session_logs_activity_delete;
DROP TRIGGER session_logs_activity_update;
DROP TRIGGER session_logs_activity_insert;
DROP TRIGGER sessions_activity_insert;
DROP INDEX idx_sessions_activity;
ALTER TABLE sessions DROP COLUMN last_activity_at;
DROP INDEX idx_session_logs_unfinished;
ALTER TABLE session_logs DROP COLUMN status;
