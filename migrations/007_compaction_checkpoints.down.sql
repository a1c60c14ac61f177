DROP INDEX idx_session_checkpoints_log;
DROP TABLE session_checkpoints;
