import { OPERATION_KINDS } from '../../src/operations/index.ts';
import { describe, expect, it } from 'vitest';
import { formatPath, parsePlaybook, parsePlaybookText, playbookChecksum } from '../../src/playbook/load.ts';
import { InputError } from '../../src/errors.ts';

function messageOf(fn: () => unknown): string {
  try {
    fn();
  } catch (err) {
    expect(err).toBeInstanceOf(InputError);
    return (err as Error).message;
  }
  throw new Error('expected an InputError');
}

describe('formatPath', () => {
  it('writes indexes in brackets and keys with dots', () => {
    expect(formatPath(['operations', 1, 'alter_column', 'up'])).toBe('operations[1].alter_column.up');
    expect(formatPath(['operations', 0, 'create_index', 'columns', 2])).toBe('operations[0].create_index.columns[2]');
    expect(formatPath(['settings', 'batchSize'])).toBe('settings.batchSize');
  });

  it('names the whole playbook for an empty path', () => {
    expect(formatPath([])).toBe('(playbook)');
  });
});

describe('parsePlaybook messages', () => {
  const alter = { table: 'users', column: 'email', type: 'citext', up: 'lower(email)', down: 'email::text' };

  it('names a missing field by its path', () => {
    const msg = messageOf(() => parsePlaybook({ name: 'p', operations: [{ add_column: { table: 't', name: 'a', type: 'int' } }, { add_column: { table: 't', name: 'b' } }] }));
    expect(msg).toBe('playbook: operations[1].add_column.type: Required');
  });

  it('refuses an alter_column with half a translation, or with nothing to change', () => {
    const { up: _up, ...noUp } = alter;
    expect(messageOf(() => parsePlaybook({ name: 'p', operations: [{ alter_column: noUp }] }))).toBe(
      'playbook: operations[0].alter_column.up: give up and down together: each translates one way',
    );
    expect(messageOf(() => parsePlaybook({ name: 'p', operations: [{ alter_column: { table: 'users', column: 'email' } }] }))).toBe(
      'playbook: operations[0].alter_column.column: nothing to change: give type, up/down, nullable, default, comment, check, unique or references',
    );
  });

  it('says where the playbook came from', () => {
    const msg = messageOf(() => parsePlaybook({ operations: [{ alter_column: alter }] }, 'playbooks/0009_x.yaml'));
    expect(msg).toBe('playbooks/0009_x.yaml: name: Required');
  });

  it('names a wrong type with what was expected and what was found', () => {
    const msg = messageOf(() => parsePlaybook({ name: 'p', settings: { parallelism: '4' }, operations: [{ alter_column: alter }] }));
    expect(msg).toBe('playbook: settings.parallelism: Invalid input: expected number, received string');
  });

  it('names an unknown key', () => {
    const msg = messageOf(() => parsePlaybook({ name: 'p', operations: [{ alter_column: { ...alter, colum: 'x' } }] }));
    expect(msg).toBe('playbook: operations[0].alter_column: Unrecognized key: "colum"');
  });

  it('puts the first problem first and counts the rest', () => {
    const msg = messageOf(() => parsePlaybook({ name: 'p', operations: [{ add_column: { table: 'users' } }] }));
    expect(msg).toMatch(/^playbook: operations\[0\]\.add_column\.name: Required \(and 1 more: operations\[0\]\.add_column\.type: Required\)$/);
  });

  it('refuses an empty operations list and an entry with no operation', () => {
    expect(messageOf(() => parsePlaybook({ name: 'p', operations: [] }))).toBe('playbook: operations: Too small: expected array to have >=1 items');
    expect(messageOf(() => parsePlaybook({ name: 'p', operations: [{}] }))).toBe(
      `playbook: operations[0]: each operation has exactly one key, its kind, e.g. alter_column or create_index (the README lists all ${OPERATION_KINDS.length})`,
    );
  });

  it('fills defaults', () => {
    const p = parsePlaybook({ name: 'p', operations: [{ add_column: { table: 't', name: 'a', type: 'int' } }] });
    expect(p.operations[0].add_column?.nullable).toBe(true);
    expect(p.settings.batchSize).toBe(1000);
    expect(p.description).toBe('');
  });
});

describe('parsePlaybookText', () => {
  it('reports a YAML syntax error on one line with the file name', () => {
    const msg = messageOf(() => parsePlaybookText('name: p\noperations:\n  - alter_column: {table: users\n', 'playbooks/bad.yaml'));
    expect(msg).toMatch(/^playbooks\/bad\.yaml: not valid YAML: /);
    expect(msg).not.toContain('\n');
  });

  it('reports JSON as JSON', () => {
    expect(messageOf(() => parsePlaybookText('{"name": ', 'p.json'))).toMatch(/^p\.json: not valid JSON: /);
  });

  it('refuses a document that is not a mapping', () => {
    expect(messageOf(() => parsePlaybookText('- a\n- b\n', 'list.yaml'))).toBe('list.yaml: a playbook is a mapping with name, settings and operations');
  });
});

describe('playbookChecksum', () => {
  const yaml = `# change email
name: p1
description: first
settings:
  batchSize: 100
operations:
  - alter_column:
      table: users
      column: email
      type: citext
      up: lower(email)
      down: email::text
`;
  const reordered = `name: p1
operations:
  # same operation, keys in another order, other comments and settings
  - alter_column: { down: "email::text", up: "lower(email)", type: citext, column: email, table: users }
settings: { batchSize: 5000, parallelism: 4 }
description: reworded
`;

  it('does not change with key order, comments, description or settings', () => {
    const a = playbookChecksum(parsePlaybookText(yaml, 'a.yaml'));
    expect(a).toMatch(/^[0-9a-f]{64}$/);
    expect(playbookChecksum(parsePlaybookText(reordered, 'b.yaml'))).toBe(a);
    expect(playbookChecksum(parsePlaybookText(yaml, 'c.yaml'))).toBe(a);
  });

  it('changes with what the playbook does', () => {
    const a = playbookChecksum(parsePlaybookText(yaml, 'a.yaml'));
    expect(playbookChecksum(parsePlaybookText(yaml.replace('lower(email)', 'upper(email)'), 'a.yaml'))).not.toBe(a);
    expect(playbookChecksum(parsePlaybookText(yaml.replace('name: p1', 'name: p2'), 'a.yaml'))).not.toBe(a);
  });

  it('does not change when a default is written out', () => {
    const implicit = parsePlaybook({ name: 'p', operations: [{ add_column: { table: 't', name: 'a', type: 'int' } }] });
    const explicit = parsePlaybook({ name: 'p', operations: [{ add_column: { table: 't', name: 'a', type: 'int', nullable: true } }] });
    expect(playbookChecksum(explicit)).toBe(playbookChecksum(implicit));
  });
});
