DROP INDEX idx_session_logs_unfinished;
ALTER TABLE session_logs DROP COLUMN status;
