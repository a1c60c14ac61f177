INSERT INTO migrations (id, description, applied_at, execution_time, checksum)
VALUES (?, ?, strftime('%Y-%m-%dT%H:%M:%fZ', 'now'), ?, ?)
