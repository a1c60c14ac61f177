SELECT id, session_id, parent_id, role, type, content, metadata, created_at, updated_at
FROM session_logs
WHERE session_id = ?
ORDER BY id DESC
LIMIT ?
