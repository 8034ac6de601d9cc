import type pg from 'pg';
import { describeTable, schemaExists, type KeyColumn } from '../catalog/introspect.ts';
import { parseTableRef, tableKey, type TableRef } from '../db/sql.ts';
import { InputError } from '../errors.ts';
import { OPERATIONS } from '../operations/index.ts';
import { modelFromCatalog, newTableModel, type ModelTable, type SchemaModel } from '../operations/model.ts';
import { isSeedRows, isTableOperation, type SeedRows, type BackfillTarget, type Operation, type OpContext, type Probe, type SchemaContext, type SchemaOperation, type Touch, type VerifyCheck } from '../operations/operation.ts';
import { operationEntries, type Playbook } from '../playbook/schema.ts';
import { linkUndone, type Action, type PlannedAction } from './action.ts';
import { versionSchemaActions } from './version-schema.ts';
import { databaseProbe } from './probe.ts';
import { schemaRehearsal } from './schema-rehearsal.ts';
import { rehearseDualWrite, type TriggerFunction } from './rehearse.ts';
import { triggerFunction, triggerFunctionId } from '../operations/trigger.ts';
import { SEED_LINE, seedCheck } from '../backfill/seed-rows.ts';
import { refuseUnfilledPlaceholders } from '../generate/placeholder.ts';

export interface CompiledTable {
  /** `schema.table` */
  name: string;
  ref: TableRef;
  key: KeyColumn[] | null;
  keyIndex: string | null;
  estimatedRows: number;
  backfill: BackfillTarget[];
  verify: VerifyCheck[];
}

/**
 * A playbook checked against the live schema and turned into data: every
 * statement of every phase, fixed at start and stored with the run, so that a
 * resumed run, another executor or `bellows plan` all see the same plan.
 */
export interface CompiledPlan {
  versionSchema: string;
  tables: CompiledTable[];
  expand: Action[];
  dualWrite: Action[];
  verify: Action[];
  contract: Action[];
  rollback: Action[];
  /** What schema operations change besides tables (views, functions, types): no other run may change them meanwhile. */
  claims?: string[];
}

/** Schemas PostgreSQL keeps for itself: no playbook may target one or be named like one. */
function isSystemSchema(name: string): boolean {
  return name.startsWith('pg_') || name === 'information_schema';
}

/**
 * The model of the table an operation touches: the one an earlier operation of
 * the playbook left, else the live catalog's, else (for an operation that
 * creates it) a new, empty one.
 */
async function modelFor(db: pg.Pool, probe: Probe, models: SchemaModel, touch: Touch, where: string, stateSchema: string): Promise<ModelTable> {
  const ref = parseTableRef(touch.table);
  if (ref.schema === stateSchema) throw new InputError(`${where}.table: bellows does not migrate its own state schema`);
  if (isSystemSchema(ref.schema)) throw new InputError(`${where}.table: ${ref.schema} is PostgreSQL's own schema; bellows changes only user tables`);
  const key = tableKey(ref);
  const known = models.get(key);
  if (known?.droppedBy !== null && known?.droppedBy !== undefined) throw new InputError(`${where}.table: table ${key} is dropped by operations[${known.droppedBy}]`);
  if (known && known.versionName !== ref.name) throw new InputError(`${where}.table: table ${key} is renamed to ${known.versionName} by an earlier operation; put the rename last, or in its own playbook`);
  if (touch.creates) {
    if (known || (await probe.relationExists(ref.schema, ref.name))) throw new InputError(`${where}.table: ${key} already exists`);
    if (!(await schemaExists(db, ref.schema))) throw new InputError(`${where}.table: schema ${ref.schema} does not exist`);
    const model = newTableModel(ref);
    models.set(key, model);
    return model;
  }
  if (known) return known;
  const info = await describeTable(db, ref);
  if (!info) throw new InputError(`${where}.table: table ${key} does not exist`);
  const model = modelFromCatalog(info);
  models.set(key, model);
  return model;
}

/**
 * A seed's staged lines, walked by line as a table is by its key: the
 * backfill's ranges, batches, throttles and checkpoints serve it unchanged.
 * Named after the table it fills and the operation, as `status` shows it.
 */
function seedTable(target: SeedRows, index: number): CompiledTable {
  const { seed } = target;
  return {
    name: `${tableKey(seed.into)} (operations[${index}].seed_data)`,
    ref: seed.staging,
    key: [{ name: SEED_LINE, type: 'bigint' }],
    keyIndex: `${seed.staging.name}_pkey`,
    estimatedRows: seed.rows,
    backfill: [target],
    verify: [seedCheck(seed)],
  };
}

/** `directory`: where the playbook's file is, and the files it names (a seed's rows); null for a playbook given as a document. */
export async function compilePlan(db: pg.Pool, playbook: Playbook, stateSchema = 'bellows', directory: string | null = null): Promise<CompiledPlan> {
  refuseUnfilledPlaceholders(playbook);
  const rehearsal = schemaRehearsal(db);
  const probe = databaseProbe(db, rehearsal);
  const models: SchemaModel = new Map();
  const entries = operationEntries(playbook);
  const versionSchema = playbook.name;
  const claimed = new Map<string, number>();

  if (isSystemSchema(versionSchema)) {
    throw new InputError(`name: the playbook's name becomes the new version's schema, and names beginning with pg_ are reserved for PostgreSQL`);
  }
  if (await schemaExists(db, versionSchema)) {
    throw new InputError(`schema "${versionSchema}" already exists; bellows needs the playbook's name for the new version's views`);
  }

  const claims: string[] = [];
  // Each operation with its context: a table operation's holds the model of its table.
  // `found` is what its validate read of the live database, for its phases.
  const placed: Array<{ table: Operation; ctx: OpContext; found: unknown } | { schema: SchemaOperation; ctx: SchemaContext; found: unknown }> = [];
  for (const entry of entries) {
    const op = OPERATIONS[entry.kind] as Operation | SchemaOperation;
    const where = `operations[${entry.index}].${entry.kind}`;
    const base: SchemaContext = { index: entry.index, playbook: playbook.name, versionSchema, stateSchema, claimed, directory };
    if (!isTableOperation(op, entry.spec)) {
      const { schema } = op.touches(entry.spec);
      if (schema === stateSchema) throw new InputError(`${where}.schema: bellows does not migrate its own state schema`);
      if (isSystemSchema(schema)) throw new InputError(`${where}.schema: ${schema} is PostgreSQL's own schema; bellows changes only user objects`);
      const found = await op.validate(entry.spec, base, probe);
      placed.push({ schema: op, ctx: base, found });
      claims.push(...(op.touches(entry.spec).claims ?? []));
      continue;
    }
    const model = await modelFor(db, probe, models, op.touches(entry.spec), where, stateSchema);
    const shape = () => model.columns.map((c) => ({ name: c.name, physical: c.physical, type: c.type }));
    const ctx: OpContext = { ...base, table: model, models, columnsBefore: shape(), physicalConditions: new Map() };
    const found = await op.validate(entry.spec, ctx, probe);
    ctx.columnsAfter = shape();
    placed.push({ table: op, ctx, found });
  }

  const plan: CompiledPlan = { versionSchema, tables: [], expand: [], dualWrite: [], verify: [], contract: [], rollback: [], claims };
  const version = versionSchemaActions(versionSchema, [...models.values()]);
  const perTable = new Map<string, CompiledTable>();
  for (const model of models.values()) {
    const info = model.original;
    const compiled: CompiledTable = {
      name: tableKey(model.ref),
      ref: model.ref,
      key: info.key?.columns ?? null,
      keyIndex: info.key?.index ?? null,
      estimatedRows: info.estimatedRows,
      backfill: [],
      verify: [],
    };
    perTable.set(compiled.name, compiled);
    plan.tables.push(compiled);
  }

  // Planned first (an undo names the action it undoes), linked by id once the whole plan is known.
  const planned: Record<'expand' | 'dualWrite' | 'verify' | 'contract', PlannedAction[]> = { expand: [], dualWrite: [], verify: [], contract: [] };
  const rollback: PlannedAction[][] = [];
  const functions = new Map<ModelTable, TriggerFunction[]>([...models.values()].map((m) => [m, []]));
  for (const [i, entry] of entries.entries()) {
    const spec = entry.spec;
    const place = placed[i];
    if ('schema' in place) {
      const { schema: op, ctx, found } = place;
      planned.expand.push(...(op.expand?.(spec, ctx, found) ?? []));
      planned.dualWrite.push(...(op.dualWrite?.(spec, ctx, found) ?? []));
      planned.verify.push(...(op.verify?.(spec, ctx, found).actions ?? []));
      planned.contract.push(...(op.contract?.(spec, ctx, found) ?? []));
      rollback.unshift(op.rollback?.(spec, ctx, found) ?? []);
      continue;
    }
    const { table: op, ctx, found } = place;
    const table = perTable.get(tableKey(ctx.table.ref))!;
    planned.expand.push(...(op.expand?.(spec, ctx, found) ?? []));
    const dualWrite = op.dualWrite?.(spec, ctx, found) ?? [];
    planned.dualWrite.push(...dualWrite);
    const fn = dualWrite.find((a) => a.id === triggerFunctionId(ctx));
    if (fn) {
      functions.get(ctx.table)!.push({
        where: `operations[${entry.index}].${entry.kind}`,
        spec: entry.spec as Record<string, unknown>,
        ...triggerFunction(ctx),
        sql: fn.sql,
      });
    }
    const targets = op.backfill?.(spec, ctx, found) ?? [];
    const backfill = targets.filter((t) => !isSeedRows(t));
    plan.tables.push(...targets.filter(isSeedRows).map((seed) => seedTable(seed, entry.index)));
    const verify = op.verify?.(spec, ctx, found) ?? { checks: [], actions: [] };
    if ((backfill.length || verify.checks.length) && !table.key) {
      throw new InputError(
        `operations[${entry.index}].${entry.kind}.table: table ${table.name} has no primary key and no unique index over NOT NULL columns; bellows walks a table by its key to backfill and verify it in batches`,
      );
    }
    table.backfill.push(...backfill);
    table.verify.push(...verify.checks);
    planned.verify.push(...verify.actions);
    planned.contract.push(...(op.contract?.(spec, ctx, found) ?? []));
    rollback.unshift(op.rollback?.(spec, ctx, found) ?? []);
  }
  planned.dualWrite.unshift(version.createSchema);
  planned.dualWrite.push(...version.createViews);
  planned.contract.unshift(...version.contract.views);
  planned.contract.push(...version.contract.schema);
  const created = [...planned.expand, ...planned.dualWrite];
  plan.expand = linkUndone(planned.expand, created);
  plan.dualWrite = linkUndone(planned.dualWrite, created);
  plan.verify = linkUndone(planned.verify, created);
  plan.contract = linkUndone(planned.contract, created);
  plan.rollback = linkUndone([...version.rollback.views, ...rollback.flat(), ...version.rollback.schema], created);
  await rehearseDualWrite(db, rehearsal, versionSchema, [...functions].map(([model, fns]) => ({ model, functions: fns })));
  return plan;
}
