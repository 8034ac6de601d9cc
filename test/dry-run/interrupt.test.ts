import { chmodSync, mkdtempSync, readdirSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { beforeAll, describe, expect, it } from 'vitest';
import { createSampleTable } from '../../src/demo/sample.ts';
import { atFileEnd } from '../helpers/cleanup.ts';
import { freshDatabase, type TestDatabase } from '../helpers/db.ts';
import { describe as show, scratchDir, spawnCli, stderrLines, waitFor } from '../helpers/cli.ts';
import { databaseExists, scratchDatabaseOf, targetSnapshot } from './target-state.ts';

/**
 * Ctrl-C during `bellows dry-run`: the command stops with one line saying so,
 * exits non-zero, and removes the copy it made (the embedded server's data
 * directory, or the scratch database); the target is as it was.
 *
 * The dry run is held for sure, whatever the machine's speed: its playbook's
 * throttle query always answers "wait", so the backfill on the copy never
 * moves and the command cannot end on its own. SIGINT is sent once it said it
 * has built its copy (its progress line), which it cannot yet have removed.
 */

const HELD_PLAYBOOK = [
  'name: dryrun_held',
  'settings:',
  '  throttleQuery: SELECT true',
  'operations:',
  '  - add_column:',
  '      table: users',
  '      name: plan',
  '      type: text',
  '      nullable: false',
  `      default: "'free'"`,
  '',
].join('\n');

let db: TestDatabase;
let playbook: string;

beforeAll(async () => {
  db = await freshDatabase();
  await createSampleTable(db.pool, 500);
  playbook = scratchDir().write('held.yaml', HELD_PLAYBOOK);
});

/** A TMPDIR of the child's own, so its embedded data directory is found among no one else's; the postgres user must write in it, as in /tmp. */
function childTmpdir(): string {
  const dir = mkdtempSync(join(tmpdir(), 'bellows-dryrun-tmp-'));
  chmodSync(dir, 0o1777);
  atFileEnd(() => rmSync(dir, { recursive: true, force: true }));
  return dir;
}

describe('bellows dry-run interrupted (SIGINT)', () => {
  it.each([
    {
      copy: 'embedded',
      flags: [],
      /** The copy's data directory, in the child's own TMPDIR. */
      copies: async (tmp: string) => readdirSync(tmp).filter((f) => f.startsWith('bellows-pg-')),
    },
    {
      copy: 'scratch database',
      flags: ['--scratch-database'],
      /** The database its `copy:` line named, while it exists. */
      copies: async (_tmp: string, stdout: string) => {
        const name = scratchDatabaseOf(stdout);
        return name && (await databaseExists(name)) ? [name] : [];
      },
    },
  ])('with the $copy copy: exit 1 with "dry-run interrupted", the copy removed, the target untouched', async ({ flags, copies }) => {
    const tmp = childTmpdir();
    const before = await targetSnapshot(db);
    const proc = spawnCli(['dry-run', playbook, ...flags], { db: db.url, env: { TMPDIR: tmp }, timeoutMs: 180_000 });
    await waitFor('the dry run to build its copy', async () => {
      if (proc.child.exitCode !== null) throw new Error(`dry-run ended before it was interrupted:\n${proc.stdout()}\n${proc.stderr()}`);
      return /copied the schema and \d+ sample rows/.test(proc.stdout());
    }, 150_000);
    expect(await copies(tmp, proc.stdout()), proc.stdout()).toHaveLength(1);

    proc.kill('SIGINT');
    const result = await proc.exited;
    expect(result.code, show(result)).toBe(1);
    expect(stderrLines(result)).toEqual(['bellows: dry-run interrupted; its copy is removed, the target was only read']);
    expect(result.stdout).not.toContain('passed');
    expect(await copies(tmp, result.stdout)).toEqual([]);
    expect(await targetSnapshot(db)).toEqual(before);
  }, 240_000);
});
