DROP INDEX idx_usage_records_created;
DROP INDEX idx_usage_records_model;
DROP INDEX idx_usage_records_session;
DROP INDEX idx_usage_records_agent;
DROP TABLE usage_records;
