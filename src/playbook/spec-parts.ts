import { z } from 'zod';

/** The field types operation specs are written with (each operation declares its own spec beside its actions). */

export const identifier = z.string().min(1).max(63).describe('A PostgreSQL identifier, used as written (bellows quotes it)');

export const tableName = z
  .string()
  .regex(/^[^.]+(\.[^.]+)?$/, 'expected "table" or "schema.table"')
  .describe('Table, optionally schema-qualified; the schema defaults to public');

export const sqlExpression = z.string().min(1).describe('A SQL expression over the columns of the row');

export const sqlType = z.string().min(1).describe('A PostgreSQL type, e.g. bigint, citext, varchar(320)');
