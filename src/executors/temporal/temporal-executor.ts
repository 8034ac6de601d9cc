import { Client, Connection, WorkflowUpdateFailedError, type WorkflowHandle } from '@temporalio/client';
import { WorkflowExecutionAlreadyStartedError, WorkflowNotFoundError } from '@temporalio/common';
import type pg from 'pg';
import type { Logger } from 'pino';
import { ConflictError, EnvironmentError } from '../../errors.ts';
import type { StateStore } from '../../state/store.ts';
import type { RunRecord } from '../../state/types.ts';
import type { DriveOutcome, Executor, Intent } from '../executor.ts';
import type { DriverProbe } from '../../state/liveness.ts';
import type { migrationRun } from '../../../workflows/migration.ts';
import {
  WORKFLOW_TYPE,
  abortSignal,
  approveUpdate,
  pauseSignal,
  resumeSignal,
  tuneSignal,
  type MigrationInput,
} from '../../../workflows/definitions.ts';
import { taskQueueFor, tlsOptions, type TemporalSettings } from './config.ts';
import { workflowIdFor } from './identity.ts';
import { databaseIdentity } from '../../state/identity.ts';

/** `status` must answer even when the server is down: it then falls back on the run's heartbeat. */
const CONNECT_TIMEOUT_MS = 5_000;
const PROBE_TIMEOUT_MS = 3_000;

export interface TemporalExecutorDeps {
  db: pg.Pool;
  store: StateStore;
  log: Logger;
}

/**
 * Submits runs to Temporal and relays operator intent to them. It never runs a
 * step itself: workers (`bellows worker --executor temporal`) do. The state
 * store keeps the truth; signals only wake the workflow sooner than its own
 * recheck of the store would.
 */
export class TemporalExecutor implements Executor {
  readonly name = 'temporal';
  readonly drivesInProcess = false;
  private connection: Connection | null = null;
  private client: Client | null = null;
  private identity: string | null = null;

  constructor(
    private readonly deps: TemporalExecutorDeps,
    readonly settings: TemporalSettings,
  ) {}

  private async connect(): Promise<Client> {
    if (this.client) return this.client;
    try {
      this.connection = await Connection.connect({ address: this.settings.address, tls: tlsOptions(this.settings.tls), connectTimeout: CONNECT_TIMEOUT_MS });
    } catch (err) {
      throw new EnvironmentError(`cannot reach Temporal at ${this.settings.address}: ${(err as Error).message}`);
    }
    this.client = new Client({ connection: this.connection, namespace: this.settings.namespace });
    return this.client;
  }

  private async dbIdentity(): Promise<string> {
    this.identity ??= await databaseIdentity(this.deps.db, this.deps.store.schemaName);
    return this.identity;
  }

  async workflowId(run: Pick<RunRecord, 'id'>): Promise<string> {
    return workflowIdFor(await this.dbIdentity(), run.id);
  }

  async taskQueue(): Promise<string> {
    return taskQueueFor(this.settings, await this.dbIdentity());
  }

  /** The handle of the run's workflow (its latest execution, across continueAsNew). */
  async handle(run: Pick<RunRecord, 'id'>): Promise<WorkflowHandle<typeof migrationRun>> {
    const client = await this.connect();
    return client.workflow.getHandle<typeof migrationRun>(await this.workflowId(run));
  }

  private async startOptions(run: RunRecord) {
    const input: MigrationInput = {
      runId: run.id,
      heartbeatTimeoutMs: this.settings.heartbeatTimeoutMs,
      sliceMs: this.settings.sliceMs,
      historyLimit: this.settings.historyLimit,
    };
    return {
      workflowId: await this.workflowId(run),
      taskQueue: await this.taskQueue(),
      args: [input] as [MigrationInput],
      memo: { playbook: run.playbookName, runId: run.id },
    };
  }

  /** Connecting proves the server answers; the namespace is checked too, as a start to a wrong one would fail only later. */
  async ready(): Promise<void> {
    const client = await this.connect();
    try {
      await client.workflowService.describeNamespace({ namespace: this.settings.namespace });
    } catch (err) {
      throw new EnvironmentError(`Temporal at ${this.settings.address} cannot take runs in namespace ${this.settings.namespace}: ${(err as Error).message}`);
    }
  }

  /** Submits the run, or attaches to its workflow if one is already running: the workflow id is the run's. */
  async drive(run: RunRecord): Promise<DriveOutcome> {
    const client = await this.connect();
    const options = await this.startOptions(run);
    try {
      await client.workflow.start<typeof migrationRun>(WORKFLOW_TYPE, options);
      this.deps.log.info({ workflowId: options.workflowId, taskQueue: options.taskQueue }, 'workflow started');
    } catch (err) {
      if (!(err instanceof WorkflowExecutionAlreadyStartedError)) throw err;
      this.deps.log.info({ workflowId: options.workflowId }, 'workflow already running; attached');
    }
    return 'submitted';
  }

  /**
   * A workflow that ended, or that the server does not know (a server that lost
   * its data, a workflow terminated by hand), drives nothing: 'gone'. A running
   * one may still have no worker, so the heartbeat decides: 'unknown'.
   */
  async probe(run: RunRecord): Promise<DriverProbe> {
    try {
      const handle = await this.handle(run);
      const description = await this.connection!.withDeadline(Date.now() + PROBE_TIMEOUT_MS, () => handle.describe());
      return description.status.name === 'RUNNING' ? 'unknown' : 'gone';
    } catch (err) {
      return err instanceof WorkflowNotFoundError ? 'gone' : 'unknown';
    }
  }

  async release(run: RunRecord): Promise<void> {
    try {
      const handle = await this.handle(run);
      await handle.terminate(`run ${run.id} moved to another executor`);
      this.deps.log.info({ run: run.id }, 'workflow terminated: the run moved to another executor');
    } catch (err) {
      if (err instanceof WorkflowNotFoundError) return;
      // Unreachable: its walkers stop at their next batch once the new driver claims their ranges,
      // and a workflow that comes back reads from the store that the run is no longer its own.
      this.deps.log.warn({ run: run.id, err: (err as Error).message }, 'could not terminate the workflow of a moved run');
    }
  }

  async notify(run: RunRecord, intent: Intent): Promise<void> {
    const client = await this.connect();
    const handle = await this.handle(run);
    switch (intent) {
      case 'resume':
      case 'abort': {
        // Both must reach a workflow even if none is running (it was terminated, or never started):
        // resume continues the run from the store, abort rolls it back.
        const options = await this.startOptions(run);
        await client.workflow.signalWithStart<typeof migrationRun, []>(WORKFLOW_TYPE, {
          ...options,
          signal: intent === 'resume' ? resumeSignal : abortSignal,
          signalArgs: [],
        });
        return;
      }
      case 'approve':
        try {
          await handle.executeUpdate(approveUpdate);
        } catch (err) {
          if (err instanceof WorkflowUpdateFailedError) {
            throw new ConflictError(`approve refused by the workflow: ${err.cause?.message ?? err.message}`);
          }
          if (err instanceof WorkflowNotFoundError) {
            throw new ConflictError(`run ${run.id} has no running workflow; bellows resume ${run.id} first (the approval is recorded)`);
          }
          throw err;
        }
        return;
      case 'pause':
      case 'tune':
        try {
          if (intent === 'pause') await handle.signal(pauseSignal);
          else await handle.signal(tuneSignal, run.desired.tuning ?? {});
        } catch (err) {
          if (!(err instanceof WorkflowNotFoundError)) throw err;
          // The intent is in the store; whichever workflow drives the run next reads it from there.
          this.deps.log.warn({ run: run.id, intent }, 'no running workflow to signal; the intent is recorded in the state store');
        }
        return;
    }
  }

  async close(): Promise<void> {
    await this.connection?.close().catch(() => {});
    this.connection = null;
    this.client = null;
  }
}
