import { z } from 'zod';
import { isPostgresUrl } from '../db/url-password.ts';
import { OPERATIONS, OPERATION_KINDS, type OperationKind, type SpecOf } from '../operations/index.ts';

/**
 * The playbook format. Everything a user can write is declared here once; the
 * TypeScript types, the validation messages and the JSON Schema for editors all
 * derive from it.
 */

// One key per operation, so that errors read `operations[1].alter_column.up`; each operation declares its own spec.
const operationShape = Object.fromEntries(OPERATION_KINDS.map((kind) => [kind, OPERATIONS[kind].spec.optional()])) as {
  [K in OperationKind]: z.ZodOptional<(typeof OPERATIONS)[K]['spec']>;
};
const operation = z.strictObject(operationShape).refine((op) => Object.values(op).filter((v) => v !== undefined).length === 1, {
  // Not the whole list: it grows with the catalog, and the error line must stay one readable line.
  message: `each operation has exactly one key, its kind, e.g. alter_column or create_index (the README lists all ${OPERATION_KINDS.length})`,
});

export const settingsSchema = z.strictObject({
  batchTimeMs: z.number().int().min(10).max(60_000).default(200).describe('Target duration of one backfill batch'),
  batchSize: z.number().int().min(1).max(1_000_000).default(1000).describe('Rows in the first batch'),
  minBatchSize: z.number().int().min(1).default(50),
  maxBatchSize: z.number().int().min(1).default(100_000),
  maxRowsPerSec: z.number().min(0).default(0).describe('Backfill rate cap across all ranges; 0 = none'),
  parallelism: z.number().int().min(1).max(64).default(1).describe('Key ranges backfilled at once'),
  lockTimeoutMs: z.number().int().min(1).max(60_000).default(2000).describe('lock_timeout of every DDL statement'),
  retries: z.number().int().min(0).max(100).default(10).describe('Retries of a DDL statement that timed out on its lock'),
  autoContract: z.boolean().default(false).describe('Contract without waiting for bellows approve'),
  throttleQuery: z.string().min(1).optional().describe('One read-only statement returning one boolean: true while the backfill must wait'),
  maxReplicaLagMs: z.number().min(0).optional(),
  maxReplicaLagBytes: z.number().min(0).optional(),
  replicaUrls: z
    .array(z.string().refine(isPostgresUrl, 'expected a postgres:// URL'))
    .optional()
    .describe('Replicas whose lag throttles the backfill; a password in them is not stored (see README)'),
  maxWalBytesPerSec: z.number().min(0).optional(),
  maxLockWaiters: z.number().int().min(0).optional().describe('Back off while more sessions than this wait on a lock on the table'),
  loadYield: z
    .number()
    .min(0)
    .max(100)
    .default(3)
    .describe('After each batch, rest this many batch-times per application session at work (running a statement, or between two statements of its transaction); 0 = never yield'),
  repair: z.boolean().default(false).describe('Verify re-applies up to mismatched rows (a few rounds) instead of only reporting them'),
}).refine((s) => s.minBatchSize <= s.maxBatchSize, { message: 'must not be larger than maxBatchSize', path: ['minBatchSize'] });

/** Lint rules this playbook switches off, each with the reason a reviewer reads (src/lint/). */
const lintSchema = z.strictObject({
  disable: z
    .array(
      z.strictObject({
        rule: z.string().min(1).describe('The id of a lint rule (bellows lint lists them)'),
        reason: z.string().trim().min(1, 'give the reason this rule does not apply here').describe('Why the rule does not apply to this playbook'),
      }),
    )
    .default([]),
});

export const playbookSchema = z.strictObject({
  name: z
    .string()
    .regex(/^[a-z0-9][a-z0-9_]{0,49}$/, 'lowercase letters, digits and _, at most 50, e.g. 0003_users_email_citext')
    .describe('Unique name, also the version: playbooks apply in name order'),
  description: z.string().default(''),
  settings: settingsSchema.default(settingsSchema.parse({})),
  operations: z.array(operation).min(1),
  lint: lintSchema.optional().describe('Lint rules switched off for this playbook, each with a reason'),
});

export type Playbook = z.infer<typeof playbookSchema>;
export type Settings = z.infer<typeof settingsSchema>;
export type RawOperation = z.infer<typeof operation>;
export { OPERATION_KINDS, type OperationKind, type SpecOf };

/** An operation with its kind made explicit, as the engine consumes it. */
export type OperationEntry = { [K in OperationKind]: { kind: K; index: number; spec: SpecOf<K> } }[OperationKind];

export function operationEntries(playbook: Playbook): OperationEntry[] {
  return playbook.operations.map((op, index) => {
    const kind = OPERATION_KINDS.find((k) => op[k] !== undefined)!;
    return { kind, index, spec: op[kind] } as OperationEntry;
  });
}
