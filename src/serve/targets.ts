import type pg from 'pg';
import { connect, createPool } from '../db/pool.ts';
import { redactText } from '../db/redact.ts';
import { EnvironmentError, NotFoundError } from '../errors.ts';
import { DriverProbes } from '../executors/driver-probes.ts';
import type { Logger } from '../log.ts';
import { executorDeps, type OperatorContext } from '../operator/index.ts';
import { StateStore } from '../state/store.ts';
import { printableLine, shown } from '../util/printable.ts';
import type { TargetConfig } from './targets-config.ts';

/**
 * Connections for reading runs and taking actions: a dashboard's reads are
 * short, so a few suffice however many runs there are. A background drive gets
 * a pool of its own (drivePool), sized to its run, so that it never starves them.
 */
const READ_POOL = 4;

/** `SELECT 1` that takes longer than this is a target that is not ready. */
const READY_TIMEOUT_MS = 3_000;

/** One served database: its pool, its state store (in the server's own name) and its driver probes. */
export class Target {
  readonly store: StateStore;
  /** Kept for the server's life: a Temporal connection is not opened for every status. */
  readonly probes: DriverProbes;

  private constructor(
    readonly name: string,
    /** Holds the password: never shown, only connected with. */
    private readonly url: string,
    readonly pool: pg.Pool,
    stateSchema: string | undefined,
    readonly log: Logger,
  ) {
    this.store = new StateStore(pool, stateSchema);
    this.probes = new DriverProbes(executorDeps({ pool, store: this.store, log }));
  }

  /** Connects and brings the state store up to date, as `status` does; an unreachable database is one line naming the target. */
  static async open(config: TargetConfig, stateSchema: string | undefined, log: Logger): Promise<Target> {
    let pool: pg.Pool;
    try {
      pool = await connect(config.url, READ_POOL);
    } catch (err) {
      throw new EnvironmentError(`target ${config.name}: ${(err as Error).message}`);
    }
    const target = new Target(config.name, config.url, pool, stateSchema, log);
    try {
      await target.store.migrate();
    } catch (err) {
      await target.close();
      throw err;
    }
    return target;
  }

  /** An operator's context on this target: its actions are events in `actor`'s name. */
  context(actor: string): OperatorContext {
    return { pool: this.pool, store: this.store, log: this.log, actor };
  }

  /** A pool for one background drive; its owner ends it when the drive ends. */
  drivePool(size: number): pg.Pool {
    return createPool(this.url, size);
  }

  /** Whether the state store answers now; the error never carries the password. */
  async ready(): Promise<{ name: string; ready: boolean; error: string | null }> {
    let timer: NodeJS.Timeout | undefined;
    const timeout = new Promise<never>((_, reject) => {
      timer = setTimeout(() => reject(new Error(`no answer within ${READY_TIMEOUT_MS / 1000} s`)), READY_TIMEOUT_MS);
    });
    try {
      await Promise.race([this.pool.query('SELECT 1'), timeout]);
      return { name: this.name, ready: true, error: null };
    } catch (err) {
      return { name: this.name, ready: false, error: printableLine(redactText((err as Error).message), 300) };
    } finally {
      clearTimeout(timer);
    }
  }

  async close(): Promise<void> {
    await this.probes.close().catch(() => {});
    await this.pool.end().catch(() => {});
  }
}

/** Every target, or none: one that cannot be opened closes those already open. */
export async function openTargets(configs: TargetConfig[], stateSchema: string | undefined, log: Logger): Promise<Map<string, Target>> {
  const targets = new Map<string, Target>();
  try {
    for (const config of configs) targets.set(config.name, await Target.open(config, stateSchema, log));
  } catch (err) {
    await closeTargets(targets);
    throw err;
  }
  return targets;
}

export async function closeTargets(targets: Map<string, Target>): Promise<void> {
  await Promise.all([...targets.values()].map((t) => t.close()));
}

export function targetNamed(targets: Map<string, Target>, name: string): Target {
  const target = targets.get(name);
  if (!target) throw new NotFoundError(`no target ${shown(name)} (this server serves: ${[...targets.keys()].join(', ')})`);
  return target;
}
