import { chmodSync, mkdirSync, mkdtempSync, rmSync, statSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { closedToOthers } from '../../src/db/embedded.ts';

// Made in the checkout's .tmp, not $TMPDIR: the case needs directories of this process's owner.
const base = mkdtempSync(join(new URL('../../.tmp/', import.meta.url).pathname, 'reach-'));
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
