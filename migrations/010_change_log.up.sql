-- description: A change log of agents, sessions, session logs, forks, checkpoints and usage records, for change events and catch-up
-- Plain SQL triggers record every insert, update and delete of the watched tables in the
-- transaction that makes it, whichever connection, process or tool writes: the library
-- tells the windows of an app what changed after each commit, and `changesSince(seq)`
-- replays what a window missed (see docs/changes.md). The list of watched tables is
-- `WATCHED` in crates/agentdb-core/src/changes.rs; a test checks that every table there has
-- its three triggers here, and no other.

-- One row per changed row. `seq` only grows (AUTOINCREMENT never hands out a number again,
-- even once older rows are pruned), so it orders the changes as they were committed.
-- `row_id` is the row's id as the table holds it (text, or the log's integer id);
-- `session_id` is the session a log or a fork belongs to, and a session's own id.
CREATE TABLE changes (
  seq        INTEGER PRIMARY KEY AUTOINCREMENT,
  table_name TEXT NOT NULL,
  op         TEXT NOT NULL CHECK (op = 'insert' OR op = 'update' OR op = 'delete'),
  row_id     ANY NOT NULL,
  session_id TEXT
);

CREATE TRIGGER changes_agents_insert AFTER INSERT ON agents
BEGIN
  INSERT INTO changes (table_name, op, row_id, session_id) VALUES ('agents', 'insert', NEW.id, NULL);
END;
CREATE TRIGGER changes_agents_update AFTER UPDATE ON agents
BEGIN
  INSERT INTO changes (table_name, op, row_id, session_id) VALUES ('agents', 'update', NEW.id, NULL);
END;
CREATE TRIGGER changes_agents_delete AFTER DELETE ON agents
BEGIN
  INSERT INTO changes (table_name, op, row_id, session_id) VALUES ('agents', 'delete', OLD.id, NULL);
END;

-- The last-activity triggers of migration 006 bump a session's last_activity_seq on every
-- write of one of its logs; that bump is not a change of the session (the log's own change
-- says what happened), so an update that moves last_activity_seq is not recorded.
CREATE TRIGGER changes_sessions_insert AFTER INSERT ON sessions
BEGIN
  INSERT INTO changes (table_name, op, row_id, session_id) VALUES ('sessions', 'insert', NEW.id, NEW.id);
END;
CREATE TRIGGER changes_sessions_update AFTER UPDATE ON sessions
WHEN OLD.last_activity_seq IS NEW.last_activity_seq
BEGIN
  INSERT INTO changes (table_name, op, row_id, session_id) VALUES ('sessions', 'update', NEW.id, NEW.id);
END;
CREATE TRIGGER changes_sessions_delete AFTER DELETE ON sessions
BEGIN
  INSERT INTO changes (table_name, op, row_id, session_id) VALUES ('sessions', 'delete', OLD.id, OLD.id);
END;

CREATE TRIGGER changes_session_logs_insert AFTER INSERT ON session_logs
BEGIN
  INSERT INTO changes (table_name, op, row_id, session_id) VALUES ('session_logs', 'insert', NEW.id, NEW.session_id);
END;
CREATE TRIGGER changes_session_logs_update AFTER UPDATE ON session_logs
BEGIN
  INSERT INTO changes (table_name, op, row_id, session_id) VALUES ('session_logs', 'update', NEW.id, NEW.session_id);
END;
CREATE TRIGGER changes_session_logs_delete AFTER DELETE ON session_logs
BEGIN
  INSERT INTO changes (table_name, op, row_id, session_id) VALUES ('session_logs', 'delete', OLD.id, OLD.session_id);
END;

CREATE TRIGGER changes_session_forks_insert AFTER INSERT ON session_forks
BEGIN
  INSERT INTO changes (table_name, op, row_id, session_id) VALUES ('session_forks', 'insert', NEW.session_id, NEW.session_id);
END;
CREATE TRIGGER changes_session_forks_update AFTER UPDATE ON session_forks
BEGIN
  INSERT INTO changes (table_name, op, row_id, session_id) VALUES ('session_forks', 'update', NEW.session_id, NEW.session_id);
END;
CREATE TRIGGER changes_session_forks_delete AFTER DELETE ON session_forks
BEGIN
  INSERT INTO changes (table_name, op, row_id, session_id) VALUES ('session_forks', 'delete', OLD.session_id, OLD.session_id);
END;

-- A session's compaction checkpoint: its id is the session's.
CREATE TRIGGER changes_session_checkpoints_insert AFTER INSERT ON session_checkpoints
BEGIN
  INSERT INTO changes (table_name, op, row_id, session_id) VALUES ('session_checkpoints', 'insert', NEW.session_id, NEW.session_id);
END;
CREATE TRIGGER changes_session_checkpoints_update AFTER UPDATE ON session_checkpoints
BEGIN
  INSERT INTO changes (table_name, op, row_id, session_id) VALUES ('session_checkpoints', 'update', NEW.session_id, NEW.session_id);
END;
CREATE TRIGGER changes_session_checkpoints_delete AFTER DELETE ON session_checkpoints
BEGIN
  INSERT INTO changes (table_name, op, row_id, session_id) VALUES ('session_checkpoints', 'delete', OLD.session_id, OLD.session_id);
END;

-- A usage record: its id is its request id; the session it names, if any.
CREATE TRIGGER changes_usage_records_insert AFTER INSERT ON usage_records
BEGIN
  INSERT INTO changes (table_name, op, row_id, session_id) VALUES ('usage_records', 'insert', NEW.request_id, NEW.session_id);
END;
CREATE TRIGGER changes_usage_records_update AFTER UPDATE ON usage_records
BEGIN
  INSERT INTO changes (table_name, op, row_id, session_id) VALUES ('usage_records', 'update', NEW.request_id, NEW.session_id);
END;
CREATE TRIGGER changes_usage_records_delete AFTER DELETE ON usage_records
BEGIN
  INSERT INTO changes (table_name, op, row_id, session_id) VALUES ('usage_records', 'delete', OLD.request_id, OLD.session_id);
END;
