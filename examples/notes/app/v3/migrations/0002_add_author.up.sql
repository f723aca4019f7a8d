-- v2: notes get an author; existing notes become "anonymous".
ALTER TABLE notes ADD COLUMN author TEXT NOT NULL DEFAULT 'anonymous';
PRAGMA user_version = 2;
