ALTER TABLE notes DROP COLUMN author;
PRAGMA user_version = 1;
