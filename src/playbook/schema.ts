import { z } from 'zod';
import { isPostgresUrl } from '../db/url-password.ts';

/**
 * The playbook format. Everything a user can write is declared here once; the
 * TypeScript types, the validation messages and the JSON Schema for editors all
 * derive from it.
 */

const identifier = z
  .string()
  .min(1)
  .max(63)
  .describe('A PostgreSQL identifier, used as written (bellows quotes it)');

const tableName = z
  .string()
  .regex(/^[^.]+(\.[^.]+)?$/, 'expected "table" or "schema.table"')
  .describe('Table, optionally schema-qualified; the schema defaults to public');

const sqlExpression = z.string().min(1).describe('A SQL expression over the columns of the row');

const sqlType = z.string().min(1).describe('A PostgreSQL type, e.g. bigint, citext, varchar(320)');

export const addColumnSpec = z
  .strictObject({
    table: tableName,
    name: identifier.describe('Name of the new column'),
    type: sqlType,
    nullable: z.boolean().default(true),
    default: sqlExpression.optional().describe('Default for new rows and value for existing ones'),
    up: sqlExpression.optional().describe('Value computed from the existing columns, for existing and old-app rows'),
  })
  .refine((s) => s.nullable || s.default !== undefined || s.up !== undefined, {
    message: 'a NOT NULL column needs a default or an up expression',
    path: ['nullable'],
  });

export const alterColumnSpec = z.strictObject({
  table: tableName,
  column: identifier,
  type: sqlType.optional().describe('New type; omitted keeps the type and only transforms values'),
  up: sqlExpression.describe('Old value to new value, written over the old columns, e.g. lower(email)'),
  down: sqlExpression.describe('New value to old value, written over the new column, e.g. email::text'),
});

export const renameColumnSpec = z.strictObject({
  table: tableName,
  from: identifier,
  to: identifier,
});

export const dropColumnSpec = z.strictObject({
  table: tableName,
  column: identifier,
  down: sqlExpression
    .optional()
    .describe('Value for the dropped column when the new application inserts rows, until contract'),
});

export const createIndexSpec = z.strictObject({
  table: tableName,
  name: identifier,
  columns: z.array(identifier).min(1),
  unique: z.boolean().default(false),
  method: z.enum(['btree', 'hash', 'gin', 'gist', 'brin']).default('btree'),
  where: sqlExpression.optional().describe('Predicate of a partial index'),
});

export const operationSpecs = {
  add_column: addColumnSpec,
  alter_column: alterColumnSpec,
  rename_column: renameColumnSpec,
  drop_column: dropColumnSpec,
  create_index: createIndexSpec,
} as const;

export type OperationKind = keyof typeof operationSpecs;
export const OPERATION_KINDS = Object.keys(operationSpecs) as OperationKind[];

// One key per operation, so that errors read `operations[1].alter_column.up`.
const operation = z
  .strictObject({
    add_column: addColumnSpec.optional(),
    alter_column: alterColumnSpec.optional(),
    rename_column: renameColumnSpec.optional(),
    drop_column: dropColumnSpec.optional(),
    create_index: createIndexSpec.optional(),
  })
  .refine((op) => Object.values(op).filter((v) => v !== undefined).length === 1, {
    message: `each operation has exactly one of: ${OPERATION_KINDS.join(', ')}`,
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
    .describe('After each batch, rest this many batch-times per application session running a statement; 0 = never yield'),
  repair: z.boolean().default(false).describe('Verify re-applies up to mismatched rows (a few rounds) instead of only reporting them'),
}).refine((s) => s.minBatchSize <= s.maxBatchSize, { message: 'must not be larger than maxBatchSize', path: ['minBatchSize'] });

export const playbookSchema = z.strictObject({
  name: z
    .string()
    .regex(/^[a-z0-9][a-z0-9_]{0,49}$/, 'lowercase letters, digits and _, at most 50, e.g. 0003_users_email_citext')
    .describe('Unique name, also the version: playbooks apply in name order'),
  description: z.string().default(''),
  settings: settingsSchema.default(settingsSchema.parse({})),
  operations: z.array(operation).min(1),
});

export type Playbook = z.infer<typeof playbookSchema>;
export type Settings = z.infer<typeof settingsSchema>;
export type RawOperation = z.infer<typeof operation>;
export type AddColumnSpec = z.infer<typeof addColumnSpec>;
export type AlterColumnSpec = z.infer<typeof alterColumnSpec>;
export type RenameColumnSpec = z.infer<typeof renameColumnSpec>;
export type DropColumnSpec = z.infer<typeof dropColumnSpec>;
export type CreateIndexSpec = z.infer<typeof createIndexSpec>;

export type SpecOf<K extends OperationKind> = z.infer<(typeof operationSpecs)[K]>;

/** An operation with its kind made explicit, as the engine consumes it. */
export type OperationEntry = { [K in OperationKind]: { kind: K; index: number; spec: SpecOf<K> } }[OperationKind];

export function operationEntries(playbook: Playbook): OperationEntry[] {
  return playbook.operations.map((op, index) => {
    const kind = OPERATION_KINDS.find((k) => op[k] !== undefined)!;
    return { kind, index, spec: op[kind] } as OperationEntry;
  });
}
