import { describe, expect, it } from 'vitest';
import { RULES } from '../../src/lint/index.ts';
import { lintStatements, operationFindings } from '../../src/lint/lint.ts';
import { playbookStatements } from '../../src/lint/subjects.ts';
import { parsePlaybook } from '../../src/playbook/load.ts';
import { readFileSync } from 'node:fs';
import { REPO } from '../helpers/cli.ts';

/** A playbook of one raw-SQL operation, in the phase given. */
function rawSql(up: string, phase: 'expand' | 'contract' = 'expand') {
  return { sql: { up, lock: 'access_exclusive', phase, ...(phase === 'expand' ? { rollback: 'SELECT 1' } : {}) } };
}

/** One operation, or several for the rules that read operations together. */
async function rulesFired(operations: Record<string, unknown> | Array<Record<string, unknown>>): Promise<string[]> {
  const playbook = parsePlaybook({ name: 'lint_case', operations: Array.isArray(operations) ? operations : [operations] });
  const findings = await lintStatements(playbookStatements(playbook, 'case.yaml'), { lockTimeoutMs: 2000 });
  return [...findings, ...operationFindings(playbook, 'case.yaml', new Set())].map((f) => f.rule);
}

const alterUp = (up: string, down = 'email') => ({ alter_column: { table: 'users', column: 'email', up, down } });

/** Each rule: a statement that breaks it, and the safe form of the same change, which it must leave alone. */
type Operations = Record<string, unknown> | Array<Record<string, unknown>>;
const CASES: Array<{ rule: string; bad: Operations; safe: Operations }> = [
  { rule: 'create-index-concurrently', bad: rawSql('CREATE INDEX users_email ON users (email)'), safe: rawSql('CREATE INDEX CONCURRENTLY users_email ON users (email)') },
  { rule: 'create-index-concurrently', bad: rawSql('REINDEX INDEX users_email'), safe: rawSql('REINDEX INDEX CONCURRENTLY users_email') },
  { rule: 'vacuum-full', bad: rawSql('VACUUM (FULL) users'), safe: rawSql('VACUUM (ANALYZE) users') },
  { rule: 'cluster', bad: rawSql('CLUSTER users USING users_pkey'), safe: rawSql('ANALYZE users') },
  { rule: 'lock-table', bad: rawSql('LOCK TABLE users IN ACCESS EXCLUSIVE MODE'), safe: rawSql('SELECT 1') },
  {
    rule: 'constraint-not-valid',
    bad: rawSql('ALTER TABLE users ADD CONSTRAINT users_id_positive CHECK (id > 0)'),
    safe: rawSql('ALTER TABLE users ADD CONSTRAINT users_id_positive CHECK (id > 0) NOT VALID; ALTER TABLE users VALIDATE CONSTRAINT users_id_positive'),
  },
  {
    rule: 'constraint-not-valid',
    bad: rawSql('ALTER TABLE users ADD CONSTRAINT users_email_key UNIQUE (email)'),
    safe: rawSql('ALTER TABLE users ADD CONSTRAINT users_email_key UNIQUE USING INDEX users_email_idx'),
  },
  {
    rule: 'constraint-not-valid',
    bad: rawSql('ALTER TABLE orders ADD CONSTRAINT orders_user FOREIGN KEY (user_id) REFERENCES users (id)'),
    // A table the same SQL creates: nobody reads it yet.
    safe: rawSql('CREATE TABLE orders (id int, user_id int); ALTER TABLE orders ADD CONSTRAINT orders_user FOREIGN KEY (user_id) REFERENCES users (id)'),
  },
  {
    rule: 'set-not-null',
    bad: rawSql('ALTER TABLE users ADD CONSTRAINT c CHECK (email IS NOT NULL) NOT VALID; ALTER TABLE users ALTER COLUMN email SET NOT NULL'),
    safe: rawSql('ALTER TABLE users ADD CONSTRAINT c CHECK (email IS NOT NULL) NOT VALID; ALTER TABLE users VALIDATE CONSTRAINT c; ALTER TABLE users ALTER COLUMN email SET NOT NULL'),
  },
  {
    rule: 'set-not-null',
    // The check proves another column: no help.
    bad: rawSql('ALTER TABLE users ADD CONSTRAINT c CHECK (name IS NOT NULL) NOT VALID; ALTER TABLE users VALIDATE CONSTRAINT c; ALTER TABLE users ALTER COLUMN email SET NOT NULL'),
    // Proven on the shadow column, then renamed into place, as bellows' own contract does.
    safe: rawSql('ALTER TABLE users ADD CONSTRAINT c CHECK (e2 IS NOT NULL) NOT VALID; ALTER TABLE users VALIDATE CONSTRAINT c; ALTER TABLE users RENAME COLUMN e2 TO email; ALTER TABLE users ALTER COLUMN email SET NOT NULL', 'contract'),
  },
  { rule: 'type-change-rewrite', bad: rawSql('ALTER TABLE users ALTER COLUMN id TYPE bigint'), safe: rawSql('CREATE TABLE t (id int); ALTER TABLE t ALTER COLUMN id TYPE bigint') },
  { rule: 'volatile-default', bad: rawSql('ALTER TABLE users ADD COLUMN token uuid DEFAULT gen_random_uuid()'), safe: rawSql("ALTER TABLE users ADD COLUMN plan text DEFAULT 'free'") },
  { rule: 'volatile-default', bad: rawSql('ALTER TABLE users ADD COLUMN seen timestamptz DEFAULT clock_timestamp()'), safe: rawSql('ALTER TABLE users ADD COLUMN seen timestamptz DEFAULT now()') },
  { rule: 'breaking-rename-drop', bad: rawSql('ALTER TABLE users RENAME COLUMN name TO full_name'), safe: { rename_column: { table: 'users', from: 'name', to: 'full_name' } } },
  { rule: 'breaking-rename-drop', bad: rawSql('ALTER TABLE users DROP COLUMN name'), safe: rawSql('ALTER TABLE users DROP COLUMN name', 'contract') },
  { rule: 'breaking-rename-drop', bad: rawSql('DROP TABLE purchases'), safe: rawSql('DROP TABLE purchases', 'contract') },
  { rule: 'lock-timeout', bad: rawSql("SET lock_timeout = 0; ALTER TABLE users ADD COLUMN a int"), safe: rawSql("SET LOCAL lock_timeout = '1s'; ALTER TABLE users ADD COLUMN a int") },
  { rule: 'lock-timeout', bad: rawSql("SET lock_timeout = '1min'"), safe: rawSql("SET lock_timeout = '500ms'") },
  { rule: 'lock-timeout', bad: rawSql('RESET lock_timeout'), safe: rawSql('RESET search_path') },
  {
    rule: 'ddl-with-dml',
    bad: rawSql("ALTER TABLE users ADD COLUMN a int; UPDATE users SET a = 1"),
    safe: rawSql("INSERT INTO plans (name) VALUES ('free'); UPDATE plans SET name = 'pro' WHERE name = 'gold'"),
  },
  { rule: 'volatile-up', bad: alterUp('lower(email) || random()::text'), safe: alterUp('lower(email)') },
  { rule: 'volatile-up', bad: alterUp('gen_random_uuid()::text'), safe: alterUp("coalesce(email, 'none')") },
  { rule: 'unfilled-placeholder', bad: alterUp('TODO_BELLOWS_FILL_IN'), safe: alterUp('lower(email)') },
  { rule: 'unfilled-placeholder', bad: alterUp('lower(email)', 'todo_bellows_fill_in'), safe: alterUp('lower(email)', 'email') },
  {
    rule: 'possible-rename',
    bad: [{ drop_column: { table: 'users', column: 'name' } }, { add_column: { table: 'public.users', name: 'full_name', type: 'text' } }],
    safe: [{ rename_column: { table: 'users', from: 'name', to: 'full_name' } }, { drop_column: { table: 'orders', column: 'name' } }, { add_column: { table: 'users', name: 'nickname', type: 'text' } }],
  },
  {
    rule: 'possible-rename',
    bad: [{ drop_table: { table: 'purchases' } }, { create_table: { table: 'orders', columns: [{ name: 'id', type: 'bigint' }], primary_key: ['id'] } }],
    safe: [{ drop_table: { table: 'purchases' } }],
  },
];

describe('each lint rule', () => {
  it.each(CASES.map((c, i) => [`${c.rule} #${i}`, c] as const))('%s fires on the unsafe statement and not on its safe form', async (_name, c) => {
    expect(await rulesFired(c.bad)).toContain(c.rule);
    expect(await rulesFired(c.safe)).not.toContain(c.rule);
  });

  it('every rule has a case here, an id, a severity and a description', () => {
    // down-inverts needs live rows: test/lint/live.test.ts.
    expect(new Set([...CASES.map((c) => c.rule), 'down-inverts'])).toEqual(new Set(RULES.map((r) => r.id)));
    for (const rule of RULES) expect([rule.id.length > 0, ['error', 'warning', 'info'].includes(rule.severity), rule.description.length > 0]).toEqual([true, true, true]);
  });

  it('the README lists every rule with its severity', () => {
    const readme = readFileSync(`${REPO}/README.md`, 'utf8');
    for (const rule of RULES) expect(readme).toMatch(new RegExp(`^\\| \`${rule.id}\` \\| ${rule.severity}`, 'm'));
  });

  it('parses every up, down and default, however the operation nests them', () => {
    const merge = { merge_columns: { table: 'users', columns: ['first_name', 'last_name'], into: { name: 'name', type: 'text', up: "first_name || ' ' || last_name" }, down: { first_name: "split_part(name, ' ', 1)", last_name: "split_part(name, ' ', 2)" } } };
    const fields = playbookStatements(parsePlaybook({ name: 'lint_case', operations: [merge] }), 'case.yaml').map((s) => s.location.field);
    expect(fields).toEqual(['operations[0].merge_columns.into.up', 'operations[0].merge_columns.down.first_name', 'operations[0].merge_columns.down.last_name']);
  });

  it('reports where: the file, the operation and the field', async () => {
    const playbook = parsePlaybook({ name: 'lint_case', operations: [rawSql('SELECT 1'), alterUp('random()::text')] });
    const [finding] = await lintStatements(playbookStatements(playbook, 'dir/case.yaml'), { lockTimeoutMs: 2000 });
    expect(finding.location).toEqual({ file: 'dir/case.yaml', operation: 1, field: 'operations[1].alter_column.up' });
    expect(finding.safe).toMatch(/deterministic/);
  });
});
