import { readFileSync } from 'node:fs';
import { InputError } from '../../errors.ts';

/** The one place the task queue's name is made: the worker polls it, the executor starts workflows on it. */
export const TASK_QUEUE_PREFIX = 'bellows';

/**
 * A run's activities must reach the run's own database, so each target database
 * gets its own task queue unless the operator names one: a worker started with
 * DATABASE_URL=A can then never pick up an activity of a run in database B.
 */
export function taskQueueFor(settings: Pick<TemporalSettings, 'taskQueue'>, dbIdentity: string): string {
  return settings.taskQueue ?? `${TASK_QUEUE_PREFIX}-${dbIdentity}`;
}

export interface TemporalTls {
  certPath?: string;
  keyPath?: string;
  caPath?: string;
  serverName?: string;
}

export interface TemporalSettings {
  address: string;
  namespace: string;
  taskQueue?: string;
  tls?: TemporalTls;
  /** Workflow timing knobs; the defaults suit production, tests shorten them. */
  heartbeatTimeoutMs?: number;
  sliceMs?: number;
  historyLimit?: number;
  /**
   * How long the server keeps a workflow task for the worker that last ran the workflow before any worker
   * may take it: after a worker dies, its workflows wait this long (the SDK's default is 10 s).
   */
  stickyTimeoutMs?: number;
}

function positive(name: string, value: string | undefined): number | undefined {
  if (value === undefined || value === '') return undefined;
  const n = Number(value);
  if (!Number.isInteger(n) || n < 1) throw new InputError(`${name}: expected a whole number of milliseconds, got "${value}"`);
  return n;
}

/** Flags win over the environment, the environment over the defaults (a local dev server). */
export function temporalSettings(overrides: Partial<TemporalSettings> = {}, env: NodeJS.ProcessEnv = process.env): TemporalSettings {
  const tls: TemporalTls = {
    certPath: overrides.tls?.certPath ?? env.TEMPORAL_TLS_CERT,
    keyPath: overrides.tls?.keyPath ?? env.TEMPORAL_TLS_KEY,
    caPath: overrides.tls?.caPath ?? env.TEMPORAL_TLS_CA,
    serverName: overrides.tls?.serverName ?? env.TEMPORAL_TLS_SERVER_NAME,
  };
  const anyTls = Object.values(tls).some((v) => v) || env.TEMPORAL_TLS === 'true';
  if (Boolean(tls.certPath) !== Boolean(tls.keyPath)) {
    throw new InputError('Temporal TLS: a client certificate needs its key (TEMPORAL_TLS_CERT and TEMPORAL_TLS_KEY together)');
  }
  return {
    address: overrides.address ?? env.TEMPORAL_ADDRESS ?? 'localhost:7233',
    namespace: overrides.namespace ?? env.TEMPORAL_NAMESPACE ?? 'default',
    taskQueue: overrides.taskQueue ?? (env.TEMPORAL_TASK_QUEUE || undefined),
    tls: anyTls ? tls : undefined,
    heartbeatTimeoutMs: overrides.heartbeatTimeoutMs ?? positive('BELLOWS_TEMPORAL_HEARTBEAT_TIMEOUT_MS', env.BELLOWS_TEMPORAL_HEARTBEAT_TIMEOUT_MS),
    sliceMs: overrides.sliceMs ?? positive('BELLOWS_TEMPORAL_SLICE_MS', env.BELLOWS_TEMPORAL_SLICE_MS),
    historyLimit: overrides.historyLimit ?? positive('BELLOWS_TEMPORAL_HISTORY_LIMIT', env.BELLOWS_TEMPORAL_HISTORY_LIMIT),
    stickyTimeoutMs: overrides.stickyTimeoutMs ?? positive('BELLOWS_TEMPORAL_STICKY_TIMEOUT_MS', env.BELLOWS_TEMPORAL_STICKY_TIMEOUT_MS),
  };
}

function readPem(path: string, what: string): Buffer {
  try {
    return readFileSync(path);
  } catch (err) {
    throw new InputError(`Temporal TLS ${what} ${path}: ${(err as Error).message}`);
  }
}

/** The TLS options both the client `Connection` and the worker's `NativeConnection` accept. */
export function tlsOptions(tls: TemporalTls | undefined) {
  if (!tls) return undefined;
  return {
    serverNameOverride: tls.serverName,
    serverRootCACertificate: tls.caPath ? readPem(tls.caPath, 'CA') : undefined,
    clientCertPair: tls.certPath && tls.keyPath ? { crt: readPem(tls.certPath, 'certificate'), key: readPem(tls.keyPath, 'key') } : undefined,
  };
}
