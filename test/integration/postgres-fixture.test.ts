import assert from 'node:assert/strict';
import { test } from 'node:test';
import pg from 'pg';
import { freshDatabase, postgresUrl } from '../support/postgres.js';

test('the local PostgreSQL has logical decoding on and hands each test an empty database it can drop', async () => {
  const server = new pg.Client({ connectionString: await postgresUrl() });
  await server.connect();
  try {
    assert.equal((await server.query('SHOW wal_level')).rows[0].wal_level, 'logical');
    const db = await freshDatabase();
    await db.query('CREATE TABLE t (id int PRIMARY KEY)');
    await db.query(`SELECT pg_create_logical_replication_slot('s_${db.name}', 'pgoutput')`);
    const exists = async () => (await server.query('SELECT 1 FROM pg_database WHERE datname = $1', [db.name])).rowCount;
    assert.equal(await exists(), 1);
    assert.equal((await db.query("SELECT count(*)::int AS n FROM pg_tables WHERE schemaname = 'public'")).rows[0].n, 1);
    await db.drop();
    assert.equal(await exists(), 0);
    assert.equal((await server.query('SELECT count(*)::int AS n FROM pg_replication_slots WHERE database = $1', [db.name])).rows[0].n, 0);
  } finally {
    await server.end();
  }
});
