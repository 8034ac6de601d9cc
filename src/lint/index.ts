import type { Rule } from './rule.ts';
import { createIndexConcurrently } from './rules/create-index-concurrently.ts';
import { vacuumFull } from './rules/vacuum-full.ts';
import { cluster } from './rules/cluster.ts';
import { lockTable } from './rules/lock-table.ts';
import { constraintNotValid } from './rules/constraint-not-valid.ts';
import { setNotNull } from './rules/set-not-null.ts';
import { typeChangeRewrite } from './rules/type-change-rewrite.ts';
import { volatileDefault } from './rules/volatile-default.ts';
import { breakingRenameDrop } from './rules/breaking-rename-drop.ts';
import { lockTimeout } from './rules/lock-timeout.ts';
import { ddlWithDml } from './rules/ddl-with-dml.ts';
import { volatileUp } from './rules/volatile-up.ts';
import { downInverts } from './rules/down-inverts.ts';
import { unfilledPlaceholder } from './rules/unfilled-placeholder.ts';
import { possibleRename } from './rules/possible-rename.ts';

/** Every lint rule: adding one is adding its file and a line here. */
export const RULES: Rule[] = [
  createIndexConcurrently,
  vacuumFull,
  cluster,
  lockTable,
  constraintNotValid,
  setNotNull,
  typeChangeRewrite,
  volatileDefault,
  breakingRenameDrop,
  lockTimeout,
  ddlWithDml,
  volatileUp,
  downInverts,
  unfilledPlaceholder,
  possibleRename,
];

export const RULE_IDS = RULES.map((r) => r.id);
