import { chmodSync, mkdtempSync, readdirSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { beforeAll, describe, expect, it } from 'vitest';
import { createSampleTable } from '../../src/demo/sample.ts';
import { atFileEnd } from '../helpers/cleanup.ts';
import { freshDatabase, type TestDatabase } from '../helpers/db.ts';
import { describe as show, scratchDir, spawnCli, stderrLines, waitFor } from '../helpers/cli.ts';
import { scratchDatabases, targetSnapshot } from './target-state.ts';

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

const embeddedDataDirs = (dir: string) => readdirSync(dir).filter((f) => f.startsWith('bellows-pg-'));

describe('bellows dry-run interrupted (SIGINT)', () => {
  it.each([
    {
      copy: 'embedded',
      flags: [],
      /** What the copy left while it ran: its data directory in the child's TMPDIR. */
      leftovers: (tmp: string) => embeddedDataDirs(tmp),
    },
    {
      copy: 'scratch database',
      flags: ['--scratch-database'],
      leftovers: async () => await scratchDatabases(),
    },
  ])('with the $copy copy: exit 1 with "dry-run interrupted", the copy removed, the target untouched', async ({ flags, leftovers }) => {
    const tmp = childTmpdir();
    const before = await targetSnapshot(db);
    const proc = spawnCli(['dry-run', playbook, ...flags], { db: db.url, env: { TMPDIR: tmp }, timeoutMs: 180_000 });
    await waitFor('the dry run to build its copy', async () => {
      if (proc.child.exitCode !== null) throw new Error(`dry-run ended before it was interrupted:\n${proc.stdout()}\n${proc.stderr()}`);
      return /copied the schema and \d+ sample rows/.test(proc.stdout());
    }, 150_000);
    const copyName = /copy: (?:scratch database (bellows_dryrun_\w+))?/.exec(proc.stdout())?.[1];
    const during = await leftovers(tmp);
    expect(during).toEqual(copyName ? expect.arrayContaining([copyName]) : [expect.stringMatching(/^bellows-pg-/)]);

    proc.kill('SIGINT');
    const result = await proc.exited;
    expect(result.code, show(result)).toBe(1);
    expect(stderrLines(result)).toEqual(['bellows: dry-run interrupted; its copy is removed, the target was only read']);
    expect(result.stdout).not.toContain('passed');
    const after = await leftovers(tmp);
    if (copyName) expect(after).not.toContain(copyName);
    else expect(after).toEqual([]);
    expect(await targetSnapshot(db)).toEqual(before);
  }, 240_000);
});
