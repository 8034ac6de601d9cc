import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { loadPlaybook, parsePlaybook, parsePlaybookText, PLAYBOOK_LIMITS } from '../../src/playbook/load.ts';
import { printableLine, shown } from '../../src/util/printable.ts';
import { InputError } from '../../src/errors.ts';
import { atFileEnd } from '../helpers/cleanup.ts';

/**
 * Playbook text written to break the loader, not to migrate anything: every one
 * is refused with an InputError whose message is one short, printable line that
 * never carries the junk back.
 */

const PRINTABLE_LINE = /^[\x20-\x7e…]+$/;

async function refusal(load: () => unknown): Promise<string> {
  try {
    await load();
  } catch (err) {
    expect(err).toBeInstanceOf(InputError);
    const message = (err as Error).message;
    expect(message.length, message).toBeLessThanOrEqual(280);
    expect(message, message).toMatch(PRINTABLE_LINE);
    return message;
  }
  throw new Error('expected the playbook to be refused');
}

const dir = mkdtempSync(join(tmpdir(), 'bellows-hostile-'));
atFileEnd(() => rmSync(dir, { recursive: true, force: true }));
function file(name: string, content: string | Buffer): string {
  const path = join(dir, name);
  writeFileSync(path, content);
  return path;
}

const addColumn = (fields: string) => `name: p1\noperations:\n  - add_column: {table: users, name: x, type: int${fields}}\n`;

describe('YAML beyond plain data', () => {
  it.each([
    ['a Python object tag', 'name: p1\nx: !!python/object:os.system echo\noperations: []\n', /YAML tag "!!python\/object:os.system" \(on the value at line 2\) is not allowed/],
    ['a custom tag', addColumn(', default: !evil 1'), /YAML tag "!evil" \(on the value at line 3\) is not allowed/],
    ['a tag the yaml package resolves (binary)', addColumn(', default: !!binary aGk='), /YAML tag "!!binary" \(on the value at line 3\) is not allowed/],
    ['two documents', `${addColumn('')}---\n${addColumn('')}`, /2 YAML documents in one file/],
    ['a duplicate key', 'name: p1\nname: p2\noperations: []\n', /not valid YAML: Map keys must be unique/],
  ])('refuses %s', async (_name, text, pattern) => {
    expect(await refusal(() => parsePlaybookText(text, 'p.yaml'))).toMatch(pattern);
  });

  it('still accepts the core tags', () => {
    expect(parsePlaybookText(addColumn(', default: !!str 1'), 'p.yaml').operations[0].add_column?.default).toBe('1');
  });

  it('refuses nesting deep enough to exhaust the parser, as bad YAML', async () => {
    const deep = `name: p1\ndescription: ${'['.repeat(20_000)}${']'.repeat(20_000)}\noperations: []\n`;
    expect(await refusal(() => parsePlaybookText(deep, 'p.yaml'))).toMatch(/^p\.yaml: not valid YAML: /);
  });
});

describe('values PostgreSQL cannot hold, and values too long to show', () => {
  it('a NUL character in an identifier names its path', async () => {
    expect(await refusal(() => parsePlaybookText(addColumn('').replace('users', '"us\\0ers"'), 'p.yaml'))).toBe(
      'p.yaml: operations[0].add_column.table: contains a NUL character (\\x00), which PostgreSQL text cannot hold',
    );
  });

  it('an unknown key is shown short and escaped, however long', async () => {
    const key = `\u202e\u001b[31m${'k'.repeat(5000)}`;
    const message = await refusal(() => parsePlaybook({ name: 'p1', [key]: 1, operations: [{ add_column: { table: 't', name: 'a', type: 'int' } }] }));
    expect(message).toBe(`playbook: (playbook): Unrecognized key: ${shown(key)}`);
    expect(message).toContain('"\\u{202e}\\x1b[31mkkkk');
  });

  it('JSON junk is not quoted back at length', async () => {
    const message = await refusal(() => parsePlaybookText(`\u0001\u0002${'A'.repeat(3000)}`, 'p.json'));
    expect(message).toMatch(/^p\.json: not valid JSON: /);
    expect(message).not.toContain('A'.repeat(50));
  });
});

describe('size and count limits', () => {
  it(`more than ${PLAYBOOK_LIMITS.operations} operations: one line with the count, not one error per operation`, async () => {
    const message = await refusal(() => parsePlaybook({ name: 'p1', operations: Array.from({ length: 10_000 }, () => ({})) }));
    expect(message).toBe(`playbook: operations: 10,000 operations, more than the ${PLAYBOOK_LIMITS.operations} a playbook may hold; split the change into several playbooks`);
  });

  it('many malformed operations under the limit: the first, a few more, and a count', async () => {
    const message = await refusal(() => parsePlaybook({ name: 'p1', operations: Array.from({ length: 400 }, () => ({})) }));
    expect(message).toMatch(/^playbook: operations\[0\]: each operation has exactly one key, its kind, .* \(and 399 more: operations\[1\]: .*; …\)$/);
  });

  it('a file over the size limit is refused before it is parsed', async () => {
    const path = file('big.yaml', `name: p1\ndescription: ${'x'.repeat(PLAYBOOK_LIMITS.bytes)}\noperations: []\n`);
    expect(await refusal(() => loadPlaybook(path))).toMatch(/: larger than the 1 MB a playbook may have \(1,048,6\d\d bytes\)$/);
  });

  it('binary junk is not a text file', async () => {
    const junk = Buffer.alloc(3072);
    for (let i = 0; i < junk.length; i++) junk[i] = (i * 7919 + 13) % 256;
    expect(await refusal(() => loadPlaybook(file('junk.yaml', junk)))).toBe(`${join(dir, 'junk.yaml')}: not a text file (a playbook is UTF-8 YAML or JSON)`);
  });
});

describe('printable text', () => {
  it('shown: quotes, escapes invisible characters, cuts at 40 characters', () => {
    expect(shown('users')).toBe('"users"');
    expect(shown('a"b\\c\n\u0000')).toBe('"a\\"b\\\\c\\x0a\\x00"');
    expect(shown('x'.repeat(100))).toBe(`"${'x'.repeat(40)}…"`);
  });

  it('printableLine: one line, at most the length asked', () => {
    expect(printableLine('first\n  second\r\nthird')).toBe('first second third');
    expect([...printableLine('y'.repeat(1000), 300)]).toHaveLength(300);
  });
});
