import { randomBytes } from 'node:crypto';
import pg from 'pg';
import type { TestProject } from 'vitest/node';
import { startEmbeddedPostgres, type EmbeddedDatabase } from '../../src/db/embedded.ts';
import { dropDatabase } from './db.ts';

/**
 * One PostgreSQL server for the whole run: DATABASE_URL if set (CI points it at
 * the machine's PostgreSQL), else an embedded one. Each test file then makes its
 * own databases on it (test/helpers/db.ts), named with this run's prefix, so files
 * run in parallel and the teardown can sweep whatever a killed file left behind.
 */
let embedded: EmbeddedDatabase | undefined;
let adminUrl = '';
const prefix = `bellows_test_${randomBytes(3).toString('hex')}_`;

export async function setup(project: TestProject) {
  adminUrl = process.env.DATABASE_URL ?? '';
  if (!adminUrl) {
    embedded = await startEmbeddedPostgres('postgres_admin');
    adminUrl = embedded.url;
  }
  project.provide('adminDatabaseUrl', adminUrl);
  project.provide('testDatabasePrefix', prefix);
}

export async function teardown() {
  try {
    const client = new pg.Client({ connectionString: adminUrl });
    await client.connect();
    const { rows } = await client
      .query<{ datname: string }>(`SELECT datname FROM pg_database WHERE starts_with(datname, $1)`, [prefix])
      .finally(() => client.end());
    for (const { datname } of rows) await dropDatabase(adminUrl, datname);
  } finally {
    await embedded?.stop();
  }
}

declare module 'vitest' {
  export interface ProvidedContext {
    adminDatabaseUrl: string;
    testDatabasePrefix: string;
  }
}
