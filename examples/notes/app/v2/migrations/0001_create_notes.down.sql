DROP TABLE notes;
PRAGMA user_version = 0;
