-- v1's schema: the notes table. user_version is what server.cjs checks (MIN_SCHEMA_VERSION).
CREATE TABLE notes (
  id INTEGER PRIMARY KEY,
  text TEXT NOT NULL,
  created_at TEXT NOT NULL
);
PRAGMA user_version = 1;
