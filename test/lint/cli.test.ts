import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { REPO, describe as show, runCli, scratchDir } from '../helpers/cli.ts';
import { RULE_IDS } from '../../src/lint/index.ts';

/** `bellows lint` as CI runs it: no database, the real CLI in a child process. */

const scratch = scratchDir();

const UNSAFE = `name: unsafe_index
operations:
  - sql:
      up: CREATE INDEX users_email ON users (email)
      rollback: DROP INDEX IF EXISTS users_email
      lock: share
`;

function withLint(lint: string): string {
  return `${UNSAFE}lint:\n${lint}`;
}

describe('bellows lint', () => {
  it('finds nothing in the example playbooks: exit 0', async () => {
    const result = await runCli(['lint', join(REPO, 'playbooks')]);
    expect(result.code, show(result)).toBe(0);
    expect(result.stdout).toMatch(/29 playbook\(s\), 0 finding\(s\)/);
  });

  it('prints one line per finding with file, field, severity, rule and the safe alternative; exit 1', async () => {
    const file = scratch.write('unsafe.yaml', UNSAFE);
    const result = await runCli(['lint', file]);
    expect(result.code, show(result)).toBe(1);
    expect(result.stdout.split('\n')[0]).toBe(
      `${file}:operations[0].sql.up  error  create-index-concurrently  CREATE INDEX on public.users without CONCURRENTLY blocks writes until the index is built; safe: CREATE INDEX CONCURRENTLY (in_transaction: false), or the create_index operation`,
    );
    expect(result.stderr.trim()).toBe('bellows: lint: 1 finding(s) at or above error');
  });

  it('--fail-on sets the severity that fails: a warning fails only at warning or info, never at none', async () => {
    const file = scratch.write('warning.yaml', UNSAFE.replace('CREATE INDEX users_email ON users (email)', 'ALTER TABLE users ADD COLUMN token uuid DEFAULT gen_random_uuid()'));
    const codes = await Promise.all(['error', 'warning', 'info', 'none'].map(async (level) => (await runCli(['lint', file, '--fail-on', level])).code));
    expect(codes).toEqual([0, 1, 1, 0]);
  });

  it('--json lists the findings', async () => {
    const file = scratch.write('json.yaml', UNSAFE);
    const result = await runCli(['lint', file, '--json']);
    expect(result.code, show(result)).toBe(1);
    const { findings } = JSON.parse(result.stdout);
    expect(findings).toEqual([
      expect.objectContaining({ rule: 'create-index-concurrently', severity: 'error', location: { file, operation: 0, field: 'operations[0].sql.up' } }),
    ]);
  });

  it('--format sarif writes SARIF 2.1.0: every rule in the driver, results with their rule and location', async () => {
    const file = scratch.write('sarif.yaml', UNSAFE);
    const result = await runCli(['lint', file, '--format', 'sarif']);
    expect(result.code, show(result)).toBe(1);
    const sarif = JSON.parse(result.stdout);
    expect(sarif.version).toBe('2.1.0');
    expect(sarif.$schema).toMatch(/sarif-2\.1\.0/);
    const [run] = sarif.runs;
    expect(run.tool.driver.name).toBe('bellows lint');
    expect(run.tool.driver.rules.map((r: { id: string }) => r.id)).toEqual(RULE_IDS);
    for (const rule of run.tool.driver.rules) expect(rule.shortDescription.text.length).toBeGreaterThan(0);
    expect(run.results).toHaveLength(1);
    const [finding] = run.results;
    expect(run.tool.driver.rules[finding.ruleIndex].id).toBe(finding.ruleId);
    expect(finding).toMatchObject({ ruleId: 'create-index-concurrently', level: 'error' });
    expect(finding.message.text).toContain('operations[0].sql.up');
    expect(finding.locations[0].physicalLocation.artifactLocation.uri).toBe(file);
    expect(finding.locations[0].logicalLocations[0].fullyQualifiedName).toBe('operations[0].sql.up');
  });

  it('a rule switched off with a reason is quiet for that playbook', async () => {
    const file = scratch.write('disabled.yaml', withLint(`  disable:\n    - rule: create-index-concurrently\n      reason: the table is created empty by 0001 and read by nobody yet\n`));
    const result = await runCli(['lint', file]);
    expect(result.code, show(result)).toBe(0);
    expect(result.stdout).toContain('0 finding(s)');
  });

  it('a rule switched off without a reason, or an unknown rule, is bad input: exit 2, one line', async () => {
    const noReason = scratch.write('no-reason.yaml', withLint(`  disable:\n    - rule: create-index-concurrently\n`));
    const empty = scratch.write('empty-reason.yaml', withLint(`  disable:\n    - rule: create-index-concurrently\n      reason: "  "\n`));
    const unknown = scratch.write('unknown.yaml', withLint(`  disable:\n    - rule: no-such-rule\n      reason: typo\n`));
    const results = await Promise.all([noReason, empty, unknown].map((f) => runCli(['lint', f])));
    expect(results.map((r) => r.code)).toEqual([2, 2, 2]);
    expect(results.map((r) => r.stderr.trim().split('\n').length)).toEqual([1, 1, 1]);
    expect(results[0].stderr).toContain('lint.disable[0].reason: Required');
    expect(results[1].stderr).toContain('lint.disable[0].reason: give the reason');
    expect(results[2].stderr).toContain('lint.disable[0].rule: no lint rule "no-such-rule"');
  });

  it('SQL the parser refuses, a bad flag, a missing path: exit 2', async () => {
    const broken = scratch.write('broken.yaml', UNSAFE.replace('CREATE INDEX users_email ON users (email)', 'CREATE INDEXX users_email'));
    const results = await Promise.all([
      runCli(['lint', broken]),
      runCli(['lint', broken, '--fail-on', 'fatal']),
      runCli(['lint', broken, '--format', 'xml']),
      runCli(['lint', join(scratch.dir, 'missing.yaml')]),
    ]);
    expect(results.map((r) => r.code)).toEqual([2, 2, 2, 2]);
    expect(results[0].stderr).toContain('operations[0].sql.up: PostgreSQL cannot parse it: syntax error at or near "INDEXX"');
  });
});
