import { chmodSync, mkdirSync, mkdtempSync, rmSync, statSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { closedToOthers } from '../../src/db/embedded.ts';

// Named bellows-* like every test's temporary directory, so CI's leftover check sees it too.
const base = mkdtempSync(join(tmpdir(), 'bellows-reach-'));
afterAll(() => rmSync(base, { recursive: true, force: true }));

describe('whether the postgres user can reach the embedded programs', () => {
  it('names the first directory on the way that others may not enter, and passes an open path', async () => {
    const closed = join(base, 'home');
    const programs = join(closed, 'checkout', 'bin');
    mkdirSync(programs, { recursive: true });
    chmodSync(base, 0o755);
    chmodSync(closed, 0o700);
    const expected = statSync(closed).uid === 0 ? closed : null; // only root's directories are judged
    expect(await closedToOthers(programs)).toBe(expected);
    chmodSync(closed, 0o711);
    expect(await closedToOthers(programs)).toBeNull();
  });
});
