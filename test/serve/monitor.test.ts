import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { commandLogger } from '../../src/log.ts';
import { RunsMonitor } from '../../src/serve/monitor.ts';
import { RateHistory } from '../../src/serve/rates.ts';
import { closeTargets, openTargets, type Target } from '../../src/serve/targets.ts';
import { freshDatabase } from '../helpers/db.ts';
import { waitFor } from '../helpers/poll.ts';

/**
 * `bellows serve` reads its targets every tick only while a client listens
 * (/api/stream, as the dashboard does). Shown without betting on speed: two
 * monitors over the same target, one with a client and one without, tick at
 * the same pace; while the first reads again and again, the second reads
 * nothing. Once its last client goes, a monitor's reads stand still while the
 * other, now listened to, goes on.
 */

const TICK_MS = 20;
const log = commandLogger();
let targets: Map<string, Target>;

beforeAll(async () => {
  const db = await freshDatabase();
  targets = await openTargets([{ name: 'app', url: db.url }], undefined, log);
});

afterAll(async () => {
  if (targets) await closeTargets(targets);
});

describe('the runs monitor', () => {
  it('reads its targets only while a client listens', async () => {
    const watched = new RunsMonitor(targets, new RateHistory(), log, TICK_MS);
    const unwatched = new RunsMonitor(targets, new RateHistory(), log, TICK_MS);
    try {
      const answers: string[] = [];
      const leave = watched.subscribe((json) => answers.push(json));
      await waitFor('the watched monitor to read three times', async () => watched.polls >= 3, 60_000, 5);
      expect(unwatched.polls).toBe(0);
      expect(JSON.parse(answers[0])).toEqual([]);

      leave();
      await watched.idle();
      const readsWhenLeft = watched.polls;
      const leaveOther = unwatched.subscribe(() => {});
      await waitFor('the other monitor, now listened to, to read three times', async () => unwatched.polls >= 3, 60_000, 5);
      expect(watched.polls).toBe(readsWhenLeft);
      leaveOther();
    } finally {
      await Promise.all([watched.stop(), unwatched.stop()]);
    }
  });
});
