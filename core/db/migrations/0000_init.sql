-- Base schema marker: the audit chain and everything later build on this database.
SELECT 1;
