import type { TestProject } from 'vitest/node';
import { startEmbeddedPostgres, type EmbeddedDatabase } from '../../src/db/embedded.ts';

/**
 * One PostgreSQL server for the whole run: DATABASE_URL if set (CI points it at
 * the machine's PostgreSQL), else an embedded one. Each test file then makes its
 * own database on it (test/helpers/db.ts), so files run in parallel.
 */
let embedded: EmbeddedDatabase | undefined;

export async function setup(project: TestProject) {
  let url = process.env.DATABASE_URL;
  if (!url) {
    embedded = await startEmbeddedPostgres('postgres_admin');
    url = embedded.url;
  }
  project.provide('adminDatabaseUrl', url);
}

export async function teardown() {
  await embedded?.stop();
}

declare module 'vitest' {
  export interface ProvidedContext {
    adminDatabaseUrl: string;
  }
}
