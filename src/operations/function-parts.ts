import { z } from 'zod';
import { identifier } from '../playbook/spec-parts.ts';
import { dollarQuoted, ident } from '../db/sql.ts';
import { InputError } from '../errors.ts';
import { printableLine } from '../util/printable.ts';
import type { FunctionShape, Probe, SchemaContext } from './operation.ts';
import { where } from './validation.ts';

/** The fields that say what a function is, shared by create_function and replace_function. */
export const functionFields = {
  schema: identifier.default('public').describe('The schema of the function'),
  name: identifier.describe('The function'),
  args: z.string().describe('Its arguments as CREATE FUNCTION takes them, e.g. "email text"; "" for none'),
  returns: z.string().min(1).describe('Its result type, e.g. text, SETOF users, TABLE (id bigint, email text)'),
  language: z.enum(['sql', 'plpgsql']),
  body: z.string().min(1).describe('Its body, without the dollar quotes'),
  volatility: z.enum(['immutable', 'stable', 'volatile']).optional(),
};

const functionObject = z.object(functionFields);
export type FunctionFields = z.infer<typeof functionObject>;

/** The function a drop_function names: schema, name and arguments are what identify it. */
export const signatureFields = {
  schema: functionFields.schema,
  name: functionFields.name,
  args: z.string().describe('Its arguments, e.g. "text" or "email text"; "" for none'),
};

/** `"public"."email_local_part"(text)`: how DROP, COMMENT and to_regprocedure name one function. */
export function signature(spec: { schema: string; name: string }, shape: FunctionShape): string {
  return `${ident(spec.schema)}.${ident(spec.name)}(${shape.argTypes})`;
}

/**
 * CREATE [OR REPLACE] FUNCTION from the playbook's fields. The body's dollar
 * quote is a tag the body does not contain, so no body can end it early.
 */
export function functionSql(spec: FunctionFields, options: { schema?: string; orReplace?: boolean; attributes?: string[] }): string {
  const attributes = [spec.volatility?.toUpperCase(), ...(options.attributes ?? [])].filter(Boolean);
  return [
    `CREATE ${options.orReplace ? 'OR REPLACE ' : ''}FUNCTION ${ident(options.schema ?? spec.schema)}.${ident(spec.name)}(${spec.args})`,
    ` RETURNS ${spec.returns}`,
    ` LANGUAGE ${spec.language}${attributes.length ? ' ' + attributes.join(' ') : ''}`,
    `AS ${dollarQuoted(spec.body)}`,
  ].join('\n');
}

/**
 * The function the fields make, compiled by PostgreSQL without creating it:
 * into the session's temporary schema, in a transaction that is rolled back, so
 * the body is checked as CREATE FUNCTION checks it and a function of the same
 * signature cannot get in the way. Refuses with PostgreSQL's reason.
 */
export async function compiledShape(spec: FunctionFields, ctx: SchemaContext, kind: string, probe: Probe): Promise<FunctionShape> {
  if (!(await probe.schemaExists(spec.schema))) throw new InputError(`${where(ctx, kind, 'schema')}: schema ${spec.schema} does not exist`);
  const shape = await probe.functionShape(functionSql(spec, { schema: 'pg_temp' }));
  if ('error' in shape) throw new InputError(printableLine(`${where(ctx, kind, 'body')}: ${shape.error}`));
  return shape;
}

/** The argument types `args` stand for, as PostgreSQL reads them (a stub function's, rolled back). */
export async function argumentTypes(spec: { schema: string; name: string; args: string }, ctx: SchemaContext, kind: string, probe: Probe): Promise<FunctionShape> {
  const stub = functionSql({ ...spec, returns: 'void', language: 'sql', body: '' }, { schema: 'pg_temp' });
  const shape = await probe.functionShape(stub);
  if ('error' in shape) throw new InputError(printableLine(`${where(ctx, kind, 'args')}: ${shape.error}`));
  return shape;
}
