import pg from 'pg';
import { ident } from '../../src/db/sql.ts';
import { run } from './proc.ts';

export const PGBENCH = process.env.PGBENCH_BIN ?? '/usr/bin/pgbench';
const WORK_DB = 'bellows_bench';
const TEMPLATE_PREFIX = 'bellows_bench_tpl_';

/** The tables a measurement starts from, built once per scale into a template database. */
export interface Dataset {
  /** Part of the template's database name: lower case letters and digits. */
  name: string;
  /** Fills an empty database at `url` with the data set at `scale` (×100k rows). */
  build(url: string, scale: number): Promise<void>;
}

/** pgbench's tables with primary keys, vacuumed and analyzed, as `pgbench -i` leaves them. */
export const PGBENCH_TABLES: Dataset = {
  name: 'pgbench',
  // d=drop t=create G=generate server-side v=vacuum p=primary keys: the default steps, generated in the server.
  build: (url, scale) => run(PGBENCH, ['-i', '-q', '-s', String(scale), '-I', 'dtGvp', url]).then(() => {}),
};

/**
 * The bench's own databases: one template per data set and scale, built once,
 * and a work database cloned from it for every measurement, so that each
 * measurement starts from byte-identical tables (no bloat, no dropped columns,
 * no leftovers of the previous measurement). All are dropped at the end.
 */
export class BenchDatabases {
  private readonly admin: pg.Pool;
  private readonly templates = new Set<string>();
  private serverVersion = 0;

  constructor(private readonly baseUrl: string) {
    this.admin = new pg.Pool({ connectionString: baseUrl, max: 1, application_name: 'bellows-bench' });
    this.admin.on('error', () => {});
  }

  urlOf(database: string): string {
    const url = new URL(this.baseUrl);
    url.pathname = `/${database}`;
    return url.toString();
  }

  async serverInfo(): Promise<{ version: string; versionNum: number; sharedBuffers: string }> {
    const { rows } = await this.admin.query<{ version: string; num: string; sb: string }>(
      `SELECT version() AS version, current_setting('server_version_num') AS num, current_setting('shared_buffers') AS sb`,
    );
    this.serverVersion = Number(rows[0].num);
    return { version: rows[0].version, versionNum: this.serverVersion, sharedBuffers: rows[0].sb };
  }

  private async drop(database: string): Promise<void> {
    const force = this.serverVersion >= 130000 ? ' WITH (FORCE)' : '';
    await this.admin.query(`DROP DATABASE IF EXISTS ${ident(database)}${force}`);
  }

  /** Builds the template of a data set at a scale, once per bench run. */
  async prepareTemplate(scale: number, dataset: Dataset = PGBENCH_TABLES): Promise<string> {
    const name = `${TEMPLATE_PREFIX}${dataset.name}_s${scale}`;
    if (this.templates.has(name)) return name;
    await this.drop(name);
    await this.admin.query(`CREATE DATABASE ${ident(name)}`);
    await dataset.build(this.urlOf(name), scale);
    // Only once built: a failed build is tried again by the next section, not cloned half-made.
    this.templates.add(name);
    return name;
  }

  /** A fresh work database, a file copy of the template, with a checkpoint so no measurement pays for the last one's dirty pages. */
  async fresh(scale: number, dataset: Dataset = PGBENCH_TABLES): Promise<string> {
    const template = await this.prepareTemplate(scale, dataset);
    await this.drop(WORK_DB);
    const strategy = this.serverVersion >= 150000 ? ' STRATEGY FILE_COPY' : '';
    await this.admin.query(`CREATE DATABASE ${ident(WORK_DB)} TEMPLATE ${ident(template)}${strategy}`);
    await this.admin.query('CHECKPOINT').catch(() => {}); // needs superuser or pg_checkpoint; harmless without
    return this.urlOf(WORK_DB);
  }

  async checkpoint(): Promise<void> {
    await this.admin.query('CHECKPOINT').catch(() => {});
  }

  /** Drops every database the bench made, including leftovers of an earlier interrupted bench. */
  async dropAll(): Promise<string[]> {
    const { rows } = await this.admin.query<{ datname: string }>(
      `SELECT datname FROM pg_database WHERE datname = $1 OR starts_with(datname, $2)`,
      [WORK_DB, TEMPLATE_PREFIX],
    );
    for (const { datname } of rows) await this.drop(datname);
    return rows.map((r) => r.datname);
  }

  async close(): Promise<void> {
    await this.admin.end().catch(() => {});
  }
}

/** A small pool on the work database for the bench's own reads; closed by the caller. */
export function benchPool(url: string, max = 3): pg.Pool {
  const pool = new pg.Pool({ connectionString: url, max, application_name: 'bellows-bench' });
  pool.on('error', () => {});
  return pool;
}
