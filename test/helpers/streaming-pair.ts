import { execFile, execFileSync, spawnSync } from 'node:child_process';
import { promisify } from 'node:util';
import { appendFileSync, chownSync, existsSync, mkdtempSync, readdirSync, rmSync } from 'node:fs';
import { join } from 'node:path';
import pg from 'pg';
import { freePort } from '../../src/util/free-port.ts';
import { atFileEnd } from './cleanup.ts';
import type { TestDatabase } from './db.ts';
import { waitFor } from './poll.ts';

/**
 * A PostgreSQL primary with a streaming standby of its own, for what a lone
 * server cannot show: replica lag (the standby's replay paused) and a failover
 * (the primary stopped dead, the standby promoted). The machine's PostgreSQL
 * binaries run a private pair in a temporary directory, as the postgres user
 * when the tests run as root; everything is stopped and removed at file end.
 */
export interface StreamingPair {
  /** The database `app` on the primary (until a failover, then on the promoted standby). */
  primary: TestDatabase;
  /** The same database on the standby, read-only. */
  standbyUrl: string;
  /** The primary goes down without a shutdown checkpoint (a crash), and the standby becomes the primary. */
  failOver(): Promise<TestDatabase>;
}

function binDir(): string {
  const configured = spawnSync('pg_config', ['--bindir'], { encoding: 'utf8' });
  if (configured.status === 0 && existsSync(join(configured.stdout.trim(), 'pg_basebackup'))) return configured.stdout.trim();
  const versions = existsSync('/usr/lib/postgresql') ? readdirSync('/usr/lib/postgresql').sort((a, b) => Number(b) - Number(a)) : [];
  const found = versions.map((v) => `/usr/lib/postgresql/${v}/bin`).find((d) => existsSync(join(d, 'pg_basebackup')));
  if (!found) throw new Error('no PostgreSQL server binaries (initdb, pg_ctl, pg_basebackup): install the postgresql package');
  return found;
}

/** PostgreSQL refuses to run as root: as root, its tools run as the postgres user. */
async function pgTool(bin: string, tool: string, args: string[]): Promise<void> {
  const asRoot = process.getuid?.() === 0;
  const [file, argv] = asRoot ? ['runuser', ['-u', 'postgres', '--', join(bin, tool), ...args]] : [join(bin, tool), args];
  await promisify(execFile)(file, argv);
}

function database(url: string): TestDatabase {
  const pool = new pg.Pool({ connectionString: url, max: 10 });
  pool.on('error', () => {});
  atFileEnd(() => pool.end().catch(() => {}));
  return { url, pool, query: (text, params) => pool.query(text, params as unknown[]) };
}

export async function streamingPair(): Promise<StreamingPair> {
  const bin = binDir();
  const dir = mkdtempSync('/tmp/bellows-pair-');
  if (process.getuid?.() === 0) {
    const uid = Number(execFileSync('id', ['-u', 'postgres'], { encoding: 'utf8' }).trim());
    chownSync(dir, uid, uid);
  }
  const [primaryPort, standbyPort] = [await freePort(), await freePort()];
  const primaryDir = join(dir, 'primary');
  const standbyDir = join(dir, 'standby');
  const running: string[] = [];
  atFileEnd(async () => {
    // Already stopped (the failed-over primary) is fine.
    for (const data of running) await pgTool(bin, 'pg_ctl', ['stop', '-D', data, '-m', 'immediate', '-w']).catch(() => {});
    rmSync(dir, { recursive: true, force: true });
  });

  await pgTool(bin, 'initdb', ['-D', primaryDir, '-U', 'postgres', '--auth=trust', '-E', 'UTF8', '--no-sync']);
  // Sockets in the pair's own directory: the machine's server keeps /var/run/postgresql.
  appendFileSync(
    join(primaryDir, 'postgresql.conf'),
    `\nlisten_addresses = '127.0.0.1'\nunix_socket_directories = '${dir}'\nfsync = off\nwal_level = replica\nmax_wal_senders = 4\nhot_standby = on\n`,
  );
  const start = async (data: string, port: number) => {
    await pgTool(bin, 'pg_ctl', ['start', '-D', data, '-o', `-p ${port}`, '-l', `${data}.log`, '-w']);
    running.push(data);
  };
  await start(primaryDir, primaryPort);
  const primaryUrl = `postgres://postgres@127.0.0.1:${primaryPort}/app`;
  const standbyUrl = `postgres://postgres@127.0.0.1:${standbyPort}/app`;
  const admin = new pg.Client({ connectionString: `postgres://postgres@127.0.0.1:${primaryPort}/postgres` });
  await admin.connect();
  await admin.query('CREATE DATABASE app');
  await admin.end();
  // A fast checkpoint: the default, spread one, made the copy wait over a minute.
  await pgTool(bin, 'pg_basebackup', ['-h', '127.0.0.1', '-p', String(primaryPort), '-U', 'postgres', '-D', standbyDir, '-R', '-X', 'stream', '--checkpoint=fast', '--no-sync']);
  await start(standbyDir, standbyPort);

  const primary = database(primaryUrl);
  await waitFor('the standby to stream from the primary', async () => {
    const { rows } = await primary.query(`SELECT count(*)::int AS n FROM pg_stat_replication WHERE state = 'streaming'`);
    return rows[0].n === 1;
  }, 30_000, 100);

  return {
    primary,
    standbyUrl,
    async failOver() {
      await pgTool(bin, 'pg_ctl', ['stop', '-D', primaryDir, '-m', 'immediate', '-w']);
      await pgTool(bin, 'pg_ctl', ['promote', '-D', standbyDir, '-w']);
      const promoted = database(standbyUrl);
      await waitFor('the promoted standby to accept writes', async () => {
        const { rows } = await promoted.query(`SELECT NOT pg_is_in_recovery() AS writable`);
        return rows[0].writable;
      }, 30_000, 100);
      return promoted;
    },
  };
}
