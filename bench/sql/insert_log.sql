INSERT INTO session_logs (session_id, parent_id, role, type, content, metadata)
VALUES (?, ?, ?, ?, ?, ?)
