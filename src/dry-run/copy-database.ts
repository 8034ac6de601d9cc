import { randomBytes } from 'node:crypto';
import pg from 'pg';
import { ident } from '../db/sql.ts';
import { redactText } from '../db/redact.ts';
import { EnvironmentError } from '../errors.ts';

/** The throw-away database a dry run works on, and how to get rid of it. */
export interface CopyDatabase {
  url: string;
  /** Where it lives, as the report says it. */
  description: string;
  /** Whether roles from the target exist there (same server): privileges can be copied only then. */
  sameServer: boolean;
  drop(): Promise<void>;
}

/** An embedded PostgreSQL in a temporary directory: nothing on the target's server is touched at all. */
export async function embeddedCopy(): Promise<CopyDatabase> {
  // Loaded only here, as the demo does: the embedded binary is needed by no other command.
  const { startEmbeddedPostgres } = await import('../db/embedded.ts');
  const server = await startEmbeddedPostgres('dryrun');
  return { url: server.url, description: 'an embedded PostgreSQL (temporary directory, removed afterwards)', sameServer: false, drop: () => server.stop() };
}

/**
 * A scratch database on the target's server, named so that an operator who
 * finds one left over (a second Ctrl-C, a killed process) knows what made it.
 * CREATE and DROP DATABASE write the cluster's catalog, not the target
 * database, but they cannot run in a read-only session: so this session is
 * its own, and it runs nothing else.
 */
export async function scratchDatabaseCopy(targetUrl: string): Promise<CopyDatabase> {
  const name = `bellows_dryrun_${randomBytes(5).toString('hex')}`;
  await onServer(targetUrl, `CREATE DATABASE ${ident(name)}`, 'create the scratch database');
  const u = new URL(targetUrl);
  u.pathname = `/${name}`;
  return {
    url: u.toString(),
    description: `scratch database ${name} on the target's server (dropped afterwards)`,
    sameServer: true,
    // FORCE: the copy's own sessions (a driver's lock, a pool still closing) must not keep it alive.
    drop: () => onServer(targetUrl, `DROP DATABASE IF EXISTS ${ident(name)} WITH (FORCE)`, `drop the scratch database ${name}`),
  };
}

async function onServer(url: string, statement: string, what: string): Promise<void> {
  const client = new pg.Client({ connectionString: url, application_name: 'bellows dry-run' });
  client.on('error', () => {});
  try {
    await client.connect();
    await client.query(statement);
  } catch (err) {
    throw new EnvironmentError(`cannot ${what}: ${redactText(err instanceof Error ? err.message : String(err))}`);
  } finally {
    await client.end().catch(() => {});
  }
}
