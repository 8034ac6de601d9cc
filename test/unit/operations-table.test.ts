import { readFile } from 'node:fs/promises';
import { describe, expect, it } from 'vitest';
import { OPERATION_KINDS, operationsTable } from '../../src/operations/index.ts';

const README = new URL('../../README.md', import.meta.url);

describe("the README's table of operations", () => {
  it('is the one made from the operations themselves, one row each', async () => {
    const text = await readFile(README, 'utf8');
    const table = /<!-- operations:start -->\n([\s\S]*?)\n<!-- operations:end -->/.exec(text)?.[1];
    // Regenerate: node --import tsx -e "import('./src/operations/index.ts').then((m) => console.log(m.operationsTable()))"
    expect(table).toBe(operationsTable());
    for (const kind of OPERATION_KINDS) expect(table).toContain(`| \`${kind}\` |`);
  });
});
