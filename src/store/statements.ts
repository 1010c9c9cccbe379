import type Database from 'libsql';

/**
 * The connection's statements, each SQL text prepared once (preparing costs more than running the store's
 * small statements): the main thread's reads and the writer thread's writes each keep one such cache.
 */
export function statementCache(db: Database.Database): (sql: string) => Database.Statement {
  const statements = new Map<string, Database.Statement>();
  return (sql) => {
    let prepared = statements.get(sql);
    if (!prepared) {
      prepared = db.prepare(sql);
      statements.set(sql, prepared);
    }
    return prepared;
  };
}
