import { dollarQuoted, ident, literal, qualified, tableKey } from '../db/sql.ts';
import type { PlannedAction } from '../engine/action.ts';
import type { OpContext } from './operation.ts';
import { names } from './names.ts';
import { columnReferences, parseExpression } from '../lint/parser.ts';

export interface RowShape {
  /** The name an expression uses for the column. */
  name: string;
  /** The physical column holding it. */
  physical: string;
  type: string;
}

/**
 * PL/pgSQL variables named after the columns, so that a playbook's expression
 * (`lower(email)`) means the same in the trigger as in the backfill's UPDATE.
 * Only columns the expressions `reads` refer to get one, as PostgreSQL's parser
 * finds them: the trigger runs for every application write, and on a wide table
 * copying every column of every row would be most of its cost. An expression
 * the parser refuses (validate rejects those before) declares every column.
 */
function declareRow(shape: RowShape[], reads: readonly string[]): string {
  const names = new Set<string>();
  let all = false;
  for (const expression of reads) {
    const parsed = parseExpression(expression);
    if ('error' in parsed) all = true;
    else for (const name of columnReferences(parsed.node)) names.add(name);
  }
  const used = all ? shape : shape.filter((c) => names.has(c.name));
  // Types spelled out rather than %TYPE: plan compiles this body before the shadow columns exist.
  const declarations = used.map((c) => `      ${ident(c.name)} ${c.type} := NEW.${ident(c.physical)};`);
  return declarations.join('\n') || '      -- no column of the row is used';
}

/** PL/pgSQL statements, and the value expressions in them that read the row by column name. */
export interface Branch {
  statements: string;
  reads: readonly string[];
}

/** A PL/pgSQL block in which the column names mean the row in the given shape. */
function declareBlock(shape: RowShape[], { statements, reads }: Branch): string {
  return `DECLARE\n${declareRow(shape, reads)}\n    BEGIN\n      ${statements}\n    END;`;
}

/**
 * A nested block in which the column names mean the row as the old application
 * sees it, for statements of the new application's branch that need `up`.
 */
function inOldShape(ctx: OpContext, branch: Branch): string {
  return declareBlock(oldShape(ctx), branch);
}

function oldShape(ctx: OpContext): RowShape[] {
  return ctx.table.original.columns.map((c) => ({ name: c.name, physical: c.name, type: c.type }));
}

function newShape(ctx: OpContext): RowShape[] {
  return (ctx.columnsAfter ?? ctx.table.columns).map((c) => ({ name: c.name, physical: c.physical, type: c.type }));
}

export function triggerFunctionId(ctx: Pick<OpContext, 'index'>): string {
  return `dual_write:${ctx.index}:function`;
}

/** An operation's trigger function: its bare name (as error contexts show it) and its quoted, schema-qualified one. */
export function triggerFunction(ctx: OpContext): { name: string; qualifiedName: string } {
  const name = names.triggerFunction(ctx);
  return { name, qualifiedName: `${ident(ctx.table.ref.schema)}.${ident(name)}` };
}

/** Set by plan's rehearsal: a translation error is raised instead of noted. */
export const REHEARSAL_SETTING = 'bellows.rehearsal';

/** The row's key as JSON, so that a noted row can be found again. */
function rowKey(ctx: OpContext): string {
  const key = ctx.table.original.key?.columns ?? [];
  return `jsonb_build_object(${key.map((k) => `${literal(k.name)}, NEW.${ident(k.name)}`).join(', ')})`;
}

/** True outside the backfill's own transactions, which set `bellows.backfill` to on. */
const NOT_BACKFILL = `current_setting('bellows.backfill', true) IS DISTINCT FROM 'on'`;

/**
 * The dual-write trigger of one operation. Which application wrote the row is
 * told by its search_path: the new application puts the version schema first.
 * The backfill marks its own transactions, because it writes both sides itself;
 * the trigger's WHEN clause tests that mark, so the backfill's UPDATE never calls
 * the PL/pgSQL function at all (a call per row that returned at once cost 14%).
 * The trigger's presence still costs the backfill: PostgreSQL locks each row
 * before it evaluates a BEFORE UPDATE trigger's WHEN, one more WAL record a row
 * (about 0.85 of a bare UPDATE's rate in the bench; no form of trigger avoids it).
 */
export function dualWriteTrigger(
  ctx: OpContext,
  body: { fromOldApp?: Branch; fromNewApp?: Branch },
): PlannedAction[] {
  const fn = triggerFunction(ctx).qualifiedName;
  const block = (shape: RowShape[], branch: Branch | undefined) => `      ${branch ? declareBlock(shape, branch) : 'NULL;'}`;
  // The body holds the playbook's up and down, so its quote tag is one they do not contain.
  const plpgsql = `
BEGIN
  BEGIN
    IF coalesce((current_schemas(false))[1] = ${literal(ctx.versionSchema)}, false) THEN
${block(newShape(ctx), body.fromNewApp)}
    ELSE
${block(oldShape(ctx), body.fromOldApp)}
    END IF;
  EXCEPTION WHEN OTHERS THEN
    -- The application's write must never fail for our translation: let it through,
    -- and note the row for verify and contract. Plan's rehearsal wants the error.
    IF current_setting('${REHEARSAL_SETTING}', true) = 'on' THEN
      RAISE;
    END IF;
    BEGIN
      PERFORM ${ident(ctx.stateSchema)}.note_dual_write_failure(${literal(ctx.playbook)}, ${literal(tableKey(ctx.table.ref))}, ${rowKey(ctx)}, ${ctx.index}, SQLSTATE, SQLERRM);
    EXCEPTION WHEN OTHERS THEN
      RAISE WARNING 'bellows: a write to % was not translated by playbook %, and could not be noted: %', TG_TABLE_NAME, ${literal(ctx.playbook)}, SQLERRM;
    END;
  END;
  RETURN NEW;
END `;
  const sql = `CREATE OR REPLACE FUNCTION ${fn}() RETURNS trigger LANGUAGE plpgsql AS ${dollarQuoted(plpgsql)}`;
  return [
    {
      id: triggerFunctionId(ctx),
      sql,
      lock: 'none',
      note: 'trigger function translating writes between the old and new columns',
    },
    {
      id: `dual_write:${ctx.index}:trigger`,
      sql: `CREATE OR REPLACE TRIGGER ${ident(names.trigger(ctx))} BEFORE INSERT OR UPDATE ON ${qualified(ctx.table.ref)} FOR EACH ROW WHEN (${NOT_BACKFILL}) EXECUTE FUNCTION ${fn}()`,
      lock: 'SHARE ROW EXCLUSIVE (brief: catalog only)',
      note: 'from here on, every write keeps both representations in step',
    },
  ];
}

/**
 * Columns kept equal both ways: every new column is its `up` over the old row,
 * every old column its `down` over the new row. The old application's writes set
 * the new columns; the new application's set the old ones, unless it left the new
 * columns alone: the row may not be backfilled yet, so the new columns get `up`.
 */
export interface Translation {
  /** Physical new columns, each with `up` over the old columns. */
  forward: ReadonlyArray<{ column: string; up: string }>;
  /** Old columns, each with `down` over the new columns. */
  backward: ReadonlyArray<{ column: string; down: string }>;
  /** Constraints on new columns that the values `up` writes must satisfy. */
  guards?: ReadonlyArray<Guard>;
}

/**
 * A constraint on new columns, tested on the values `up` gave them for a write
 * the application did not make in the new shape (the old application's, or the
 * new one's that left those columns alone). Where `up` left them violating it,
 * they become NULL, which every CHECK, UNIQUE and (MATCH SIMPLE) FOREIGN KEY
 * lets pass, and the row is noted as a failed translation: the write goes
 * through, and verify refuses until the row is repaired.
 */
export interface Guard {
  name: string;
  /** PL/pgSQL statements that set the boolean `_bellows_violates` from NEW. */
  test: string;
  /** The new columns it constrains, which become NULL. */
  columns: string[];
  /** Expressions in `test` that read the row by column name (a CHECK's). */
  reads?: string[];
}

function guarded(setNew: string, guards: ReadonlyArray<Guard>): string {
  if (!guards.length) return setNew;
  const each = guards.map(
    (g) =>
      `${g.test} IF _bellows_violates THEN ${g.columns.map((c) => `NEW.${ident(c)} := NULL;`).join(' ')} _bellows_violated := concat_ws(', ', _bellows_violated, ${literal(g.name)}); END IF;`,
  );
  return `${setNew}
      DECLARE _bellows_violates boolean; _bellows_violated text; BEGIN
        ${each.join('\n        ')}
        IF _bellows_violated IS NOT NULL THEN
          RAISE EXCEPTION 'up gives a value that violates %; written as NULL', _bellows_violated USING ERRCODE = 'integrity_constraint_violation';
        END IF;
      END;`;
}

export function translationTrigger(ctx: OpContext, translation: Translation): PlannedAction[] {
  const guards = translation.guards ?? [];
  const setNew: Branch = {
    statements: guarded(translation.forward.map((c) => `NEW.${ident(c.column)} := ${c.up};`).join(' '), guards),
    reads: [...translation.forward.map((c) => c.up), ...guards.flatMap((g) => g.reads ?? [])],
  };
  const setOld: Branch = {
    statements: translation.backward.map((c) => `NEW.${ident(c.column)} := ${c.down};`).join(' '),
    reads: translation.backward.map((c) => c.down),
  };
  const newChanged = anyChanged(translation.forward.map((c) => c.column));
  const oldChanged = anyChanged(translation.backward.map((c) => c.column));
  const fromNewShape = translation.forward.length > 1 ? fillLeftAlone(ctx, translation, setOld) : declareBlock(newShape(ctx), setOld);
  return dualWriteTrigger(ctx, {
    // A session whose search_path is not the new version's can still write through
    // the version schema's view by its qualified name. Only the new shape can change
    // the new columns and leave the old ones alone, so such an UPDATE is the new
    // shape's whatever the search_path says; taken for the old one, up would
    // overwrite what it wrote and the write would be lost without an error.
    fromOldApp: {
      statements: `IF TG_OP = 'UPDATE' AND (${newChanged}) AND NOT (${oldChanged}) THEN ${fromNewShape}\n      ELSE ${inOldShape(ctx, setNew)}\n      END IF;`,
      reads: [],
    },
    fromNewApp: {
      statements: `IF TG_OP = 'INSERT' OR ${newChanged} THEN ${fromNewShape}\n      ELSE ${inOldShape(ctx, setNew)}\n      END IF;`,
      // The nested blocks declare what they read themselves.
      reads: [],
    },
  });
}

/** True when an UPDATE changed any of the columns (false for none). */
function anyChanged(columns: string[]): string {
  return columns.map((c) => `NEW.${ident(c)} IS DISTINCT FROM OLD.${ident(c)}`).join(' OR ') || 'false';
}

/**
 * With several new columns, an update may set one and leave the others alone on
 * a row the backfill has not reached (they are still NULL): those get `up` first,
 * and `down` then reads the row as completed (a fresh block: the outer one's
 * variables hold the row as it came).
 */
function fillLeftAlone(ctx: OpContext, translation: Translation, setOld: Branch): string {
  const fill: Branch = {
    statements: translation.forward
      .map((c) => `IF NEW.${ident(c.column)} IS NOT DISTINCT FROM OLD.${ident(c.column)} THEN NEW.${ident(c.column)} := ${c.up}; END IF;`)
      .join(' '),
    reads: translation.forward.map((c) => c.up),
  };
  return `IF TG_OP = 'UPDATE' THEN ${inOldShape(ctx, fill)} END IF;\n      ${declareBlock(newShape(ctx), setOld)}`;
}

export function dropDualWrite(ctx: OpContext, phase: 'contract' | 'rollback'): PlannedAction[] {
  return [
    {
      id: `${phase}:${ctx.index}:drop_trigger`,
      sql: `DROP TRIGGER IF EXISTS ${ident(names.trigger(ctx))} ON ${qualified(ctx.table.ref)}`,
      lock: 'ACCESS EXCLUSIVE (brief: catalog only)',
      note: 'stop dual writes',
    },
    {
      id: `${phase}:${ctx.index}:drop_function`,
      sql: `DROP FUNCTION IF EXISTS ${ident(ctx.table.ref.schema)}.${ident(names.triggerFunction(ctx))}()`,
      lock: 'none',
      note: 'remove the trigger function',
    },
  ];
}
