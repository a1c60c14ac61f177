INSERT INTO session_logs (session_id, role, type, content, metadata, created_at, updated_at)
VALUES (?1, ?2, ?3, ?4, ?5,
        strftime('%Y-%m-%dT%H:%M:%fZ', ?6 / 1000.0, 'unixepoch'),
        strftime('%Y-%m-%dT%H:%M:%fZ', ?6 / 1000.0, 'unixepoch'))
