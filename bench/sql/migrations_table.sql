CREATE TABLE IF NOT EXISTS migrations (
  id             TEXT PRIMARY KEY NOT NULL,
  description    TEXT NOT NULL,
  applied_at     TEXT NOT NULL,
  execution_time INTEGER NOT NULL,
  checksum       TEXT NOT NULL
)
