-- description: Add the usage ledger: one row per model request, kept when what it names is deleted
-- A new table and its indexes only; no existing table changes.

-- One row per model request, keyed by the app's request id, so a retry never counts twice.
-- session_id, log_id and agent_id name rows without foreign keys: a record outlives the
-- session, log or agent it names and keeps their ids. Token counts are non-negative
-- integers; cost is a non-negative number in currency (three capital letters), both or
-- neither.
CREATE TABLE usage_records (
  request_id         TEXT PRIMARY KEY NOT NULL CHECK (typeof(request_id) = 'text' AND length(request_id) > 0),
  session_id         TEXT CHECK (session_id IS NULL OR typeof(session_id) = 'text'),
  log_id             INTEGER CHECK (log_id IS NULL OR typeof(log_id) = 'integer'),
  agent_id           TEXT CHECK (agent_id IS NULL OR typeof(agent_id) = 'text'),
  model              TEXT NOT NULL CHECK (typeof(model) = 'text'),
  input_tokens       INTEGER NOT NULL CHECK (typeof(input_tokens) = 'integer' AND input_tokens >= 0),
  output_tokens      INTEGER NOT NULL CHECK (typeof(output_tokens) = 'integer' AND output_tokens >= 0),
  reasoning_tokens   INTEGER NOT NULL DEFAULT 0 CHECK (typeof(reasoning_tokens) = 'integer' AND reasoning_tokens >= 0),
  cache_read_tokens  INTEGER NOT NULL DEFAULT 0 CHECK (typeof(cache_read_tokens) = 'integer' AND cache_read_tokens >= 0),
  cache_write_tokens INTEGER NOT NULL DEFAULT 0 CHECK (typeof(cache_write_tokens) = 'integer' AND cache_write_tokens >= 0),
  cost               REAL CHECK (cost IS NULL OR (typeof(cost) = 'real' AND cost >= 0)),
  currency           TEXT CHECK (currency IS NULL OR (typeof(currency) = 'text' AND length(currency) = 3
                                 AND currency GLOB '[A-Z][A-Z][A-Z]')),
  created_at         TEXT NOT NULL DEFAULT (strftime('%Y-%m-%dT%H:%M:%fZ', 'now')) CHECK (typeof(created_at) = 'text'),
  CHECK ((cost IS NULL) = (currency IS NULL))
);
-- The summaries: by agent, session and model within a time range, and by day (the range alone).
CREATE INDEX idx_usage_records_agent ON usage_records (agent_id, created_at);
CREATE INDEX idx_usage_records_session ON usage_records (session_id, created_at);
CREATE INDEX idx_usage_records_model ON usage_records (model, created_at);
CREATE INDEX idx_usage_records_created ON usage_records (created_at);
