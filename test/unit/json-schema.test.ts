import { readFile, readdir } from 'node:fs/promises';
import { describe, expect, it } from 'vitest';
import { playbookJsonSchema } from '../../src/playbook/json-schema.ts';
import { OPERATION_KINDS } from '../../src/playbook/schema.ts';
import { loadPlaybook } from '../../src/playbook/load.ts';

const COMMITTED = new URL('../../playbooks/playbook.schema.json', import.meta.url);

type Json = Record<string, any>; // eslint-disable-line @typescript-eslint/no-explicit-any

describe('playbook JSON Schema', () => {
  const schema = playbookJsonSchema() as Json;

  it('is committed and up to date (regenerate: node src/cli/bin.mjs schema > playbooks/playbook.schema.json)', async () => {
    const committed = await readFile(COMMITTED, 'utf8');
    expect(committed).toBe(JSON.stringify(schema, null, 2) + '\n');
  });

  it('describes every operation, with its required fields, and refuses unknown keys', () => {
    expect(schema.$id).toBe('https://bellows.dev/playbook.schema.json');
    expect(schema.required).toEqual(['name', 'operations']);
    expect(schema.additionalProperties).toBe(false);
    const item = schema.properties.operations.items as Json;
    expect(Object.keys(item.properties).sort()).toEqual([...OPERATION_KINDS].sort());
    expect(item.additionalProperties).toBe(false);
    expect(item.properties.alter_column.required).toEqual(['table', 'column']);
    expect(item.properties.add_column.required).toEqual(['table', 'name', 'type']);
    expect(item.properties.rename_column.required).toEqual(['table', 'from', 'to']);
    expect(item.properties.create_index.properties.method.enum).toEqual(['btree', 'hash', 'gin', 'gist', 'brin']);
    for (const kind of OPERATION_KINDS) expect(item.properties[kind].additionalProperties).toBe(false);
  });

  it('shows the defaults an editor offers', () => {
    const settings = schema.properties.settings.properties as Json;
    expect(settings.batchTimeMs.default).toBe(200);
    expect(settings.lockTimeoutMs.default).toBe(2000);
    expect(schema.properties.operations.items.properties.add_column.properties.nullable.default).toBe(true);
    expect(schema.properties.name.pattern).toBe('^[a-z0-9][a-z0-9_]{0,49}$');
  });

  it('every example playbook is valid', async () => {
    const dir = new URL('../../playbooks/', import.meta.url);
    const files = (await readdir(dir)).filter((f) => /\.ya?ml$/.test(f));
    expect(files.length).toBeGreaterThan(0);
    for (const f of files) await expect(loadPlaybook(new URL(f, dir).pathname)).resolves.toMatchObject({ name: f.replace(/\.ya?ml$/, '') });
  });
});
