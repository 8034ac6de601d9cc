import { describe, expect, it } from 'vitest';
import { parseRunbook } from './runbook-steps.ts';
import { runRunbook } from './run-runbook.ts';

/**
 * The runbook test is only worth something if a runbook that lies fails it:
 * a wrong flag, an expectation its output does not show, a worker that cannot
 * start, a command hidden where the test would not run it.
 */

function run(markdown: string, vars: Record<string, string> = {}) {
  return runRunbook(parseRunbook('example.md', markdown), vars);
}

describe('reading a runbook', () => {
  it('takes commands with their expectations, continued lines and background commands', () => {
    const steps = parseRunbook('example.md', [
      '# Title', '', 'Prose with `bellows status` inline.', '',
      '```sh',
      '# a comment for the reader',
      'bellows status "$RUN"',
      '# expect: phase backfill',
      '# expect: running',
      'psql "$DATABASE_URL" -c "SELECT 1, \\',
      '  2"',
      '# wait for: 2',
      'bellows worker --executor bullmq &',
      'bellows pause "$RUN" --nope',
      '# exit: 2',
      '```',
      '```text',
      'run 1 …',
      '```',
    ].join('\n'));
    expect(steps).toEqual([
      { where: 'example.md:7', command: 'bellows status "$RUN"', background: false, exit: 0, expect: ['phase backfill', 'running'], waitFor: null },
      { where: 'example.md:10', command: 'psql "$DATABASE_URL" -c "SELECT 1, \\\n  2"', background: false, exit: 0, expect: [], waitFor: '2' },
      { where: 'example.md:13', command: 'bellows worker --executor bullmq', background: true, exit: 0, expect: [], waitFor: null },
      { where: 'example.md:14', command: 'bellows pause "$RUN" --nope', background: false, exit: 2, expect: [], waitFor: null },
    ]);
  });

  it('refuses commands the test would not run, and directives it does not know', () => {
    expect(() => parseRunbook('a.md', '```bash\nbellows status\n```')).toThrow('a.md:1: a ```bash block');
    expect(() => parseRunbook('a.md', '```\nbellows status\n```')).toThrow('a.md:1: a ``` block');
    expect(() => parseRunbook('a.md', '```sh\nbellows status\n# expects: running\n```')).toThrow('a.md:3: unknown directive "# expects:"');
    expect(() => parseRunbook('a.md', '```sh\n# expect: running\nbellows status\n```')).toThrow('before any command');
    expect(() => parseRunbook('a.md', '```sh\nbellows worker --executor bullmq &\n# expect: serving\n```')).toThrow('a background command');
    expect(() => parseRunbook('a.md', '```sh\nbellows status\n')).toThrow('not closed');
  });
});

describe('running a runbook', () => {
  it('fails on a flag the CLI does not have', async () => {
    await expect(run('```sh\nbellows plan "$PLAYBOOK" --max-rows-per-second 5\n```', { PLAYBOOK: 'playbooks/0001_users_email_citext.yaml' }))
      .rejects.toThrow(/example\.md:2: expected exit 0[\s\S]*unknown option '--max-rows-per-second'/);
  });

  it('fails when the output does not show what the runbook says to look for, and passes when it does', async () => {
    await expect(run('```sh\nbellows tune --help\n# expect: --max-rows-per-sec\n# expect: --max-replica-lag-seconds\n```'))
      .rejects.toThrow('example.md:2: expected the output to show "--max-replica-lag-seconds"');
    await run('```sh\nbellows tune --help\n# expect: --max-rows-per-sec\nbellows tune\n# exit: 2\n# expect: missing required argument \'run\'\n```');
  });

  it('fails when a placeholder is not set, or a background command fails', async () => {
    await expect(run('```sh\nbellows status "$RUN_ID"\n```')).rejects.toThrow('RUN_ID: unbound variable');
    await expect(run('```sh\nbellows worker --executor nosuch &\necho looking\n# wait for: never shown\n```'))
      .rejects.toThrow(/example\.md:2: this background command failed[\s\S]*nosuch/);
  });
});
