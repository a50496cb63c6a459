export { openDatabase, databaseOptions, withDefaultUser, type Database, type OpenDatabaseOptions, type DatabaseSettingsSource } from './database.js';
export { migrate, DEFAULT_MIGRATIONS_TABLE, type Migration, type MigrateOptions } from './migrate.js';
export { DbConnector, type NumReturn, type Row } from './connector.js';
export { quoteIdent, quoteQualified, redactUrl, sqlState } from './sql.js';
