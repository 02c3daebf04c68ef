-- PostgreSQL only (foreign key, collation and statistics of `records`); SQLite compares
-- keys byte by byte already and checks the tenant key through its primary key index.
SELECT 1;
