import { readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';

const DIR = new URL('../../workflows/', import.meta.url).pathname;

/** Every import and re-export of a module, with whether it is type-only (erased before bundling). */
export function importsOf(source: string): Array<{ from: string; typeOnly: boolean }> {
  const found: Array<{ from: string; typeOnly: boolean }> = [];
  const statement = /^\s*(import|export)\s+(type\s+)?([^'";]*?)\s*from\s*['"]([^'"]+)['"]|^\s*import\s*['"]([^'"]+)['"]|import\s*\(\s*['"]([^'"]+)['"]\s*\)|require\s*\(\s*['"]([^'"]+)['"]\s*\)/gm;
  for (const m of source.matchAll(statement)) {
    if (m[4]) {
      // `import { type A, type B } from` is type-only too; `import { type A, b }` is not.
      const names = m[3].replace(/^\{|\}$/g, '').split(',').map((n) => n.trim()).filter(Boolean);
      const allTypes = m[3].startsWith('{') && names.length > 0 && names.every((n) => n.startsWith('type '));
      found.push({ from: m[4], typeOnly: Boolean(m[2]) || allTypes });
    } else {
      found.push({ from: (m[5] ?? m[6] ?? m[7])!, typeOnly: false });
    }
  }
  return found;
}

/** Pure engine modules the workflow shares with the other executors: they must import nothing but types themselves. */
const PURE = ['../src/engine/decide.ts'];

/**
 * Workflow code runs in a deterministic sandbox and is replayed from history:
 * it may use the workflow SDK, its own siblings and the pure modules above, and
 * may see anything else only as types.
 */
function disallowed(file: string): string[] {
  const source = readFileSync(join(DIR, file), 'utf8');
  return importsOf(source)
    .filter((i) => !i.typeOnly && i.from !== '@temporalio/workflow' && !/^\.\/[\w-]+\.ts$/.test(i.from) && !PURE.includes(i.from))
    .map((i) => `${file} imports ${i.from}`);
}

describe('workflows/ imports', () => {
  it('finds value imports, side-effect imports and requires, and tells type-only ones apart', () => {
    const found = importsOf(
      [
        "import type { A } from '../src/a.ts';",
        "import { type B, type C } from '../src/b.ts';",
        "import { type D, e } from '../src/d.ts';",
        "import pg from 'pg';",
        "import 'node:fs';",
        "export { x } from '../src/x.ts';",
        "const y = await import('node:net');",
      ].join('\n'),
    );
    expect(found).toEqual([
      { from: '../src/a.ts', typeOnly: true },
      { from: '../src/b.ts', typeOnly: true },
      { from: '../src/d.ts', typeOnly: false },
      { from: 'pg', typeOnly: false },
      { from: 'node:fs', typeOnly: false },
      { from: '../src/x.ts', typeOnly: false },
      { from: 'node:net', typeOnly: false },
    ]);
  });

  it('lets workflow files import only @temporalio/workflow, each other, and types', () => {
    const files = readdirSync(DIR).filter((f) => f.endsWith('.ts'));
    expect(files).toContain('migration.ts');
    expect(files.flatMap(disallowed)).toEqual([]);
  });

  it('lets the shared pure modules import nothing but types', () => {
    const valueImports = PURE.flatMap((path) =>
      importsOf(readFileSync(new URL(path, new URL('../../workflows/', import.meta.url)), 'utf8'))
        .filter((i) => !i.typeOnly)
        .map((i) => `${path} imports ${i.from}`),
    );
    expect(valueImports).toEqual([]);
  });
});
