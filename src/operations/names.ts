import { shortName } from '../db/sql.ts';
import type { OpContext, SchemaContext } from './operation.ts';

/** The names bellows gives the objects it creates for an operation; one place, so rollback finds them. */
export const names = {
  shadow: (column: string) => shortName('_bellows_new', column),
  triggerFunction: (ctx: OpContext) => shortName('_bellows', ctx.playbook, String(ctx.index).padStart(2, '0')),
  trigger: (ctx: OpContext) => shortName('_bellows', ctx.playbook, String(ctx.index).padStart(2, '0')),
  notNullCheck: (ctx: OpContext, column: string) => shortName('_bellows_nn', String(ctx.index), column),
  /** A materialized view built beside the one it replaces, until contract swaps their names. */
  newMaterializedView: (ctx: SchemaContext, view: string) => shortName('_bellows_mv', String(ctx.index), view),
  shadowIndex: (ctx: SchemaContext, index: string) => shortName('_bellows_ix', String(ctx.index), index),
};
