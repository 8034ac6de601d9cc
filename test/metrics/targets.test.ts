import net from 'node:net';
import pg from 'pg';
import { describe, expect, it } from 'vitest';
import { inject } from 'vitest';
import { dropDatabase, freshDatabase } from '../helpers/db.ts';
import { atFileEnd } from '../helpers/cleanup.ts';
import { parsePrometheus, samplesOf, valueOf } from '../helpers/prometheus.ts';
import { StateStore } from '../../src/state/store.ts';
import { createMetrics } from '../../src/metrics/index.ts';

/**
 * One server, many target databases: a target that does not answer is
 * `bellows_target_up 0` and the scrape still answers for the others. Passwords
 * in the targets' URLs appear nowhere.
 */

const PASSWORD = 'NeverInMetrics0';

/** A pool on `url` with a password the server (trust) does not need, and a store on it. */
function storeAt(url: string, connectionTimeoutMillis = 30_000): StateStore {
  const u = new URL(url);
  u.password = PASSWORD;
  const pool = new pg.Pool({ connectionString: u.toString(), max: 2, connectionTimeoutMillis });
  pool.on('error', () => {});
  atFileEnd(() => pool.end());
  return new StateStore(pool);
}

describe('targets', () => {
  it('a target whose database is gone is up 0, with no error; the others go on', async () => {
    const alive = await freshDatabase();
    const doomed = await freshDatabase();
    const aliveStore = storeAt(alive.url);
    const doomedStore = storeAt(doomed.url);
    await aliveStore.migrate();
    await doomedStore.migrate();
    const told: string[] = [];
    const metrics = createMetrics(
      [{ name: 'alive', store: aliveStore }, { name: 'doomed', store: doomedStore }],
      { onTargetError: (target) => told.push(target) },
    );

    const before = parsePrometheus(await metrics.render());
    expect(valueOf(before, 'bellows_target_up', { target: 'doomed' })).toBe(1);
    expect(valueOf(before, 'bellows_runs', { target: 'doomed', status: 'running' })).toBe(0);

    await dropDatabase(inject('adminDatabaseUrl'), new URL(doomed.url).pathname.slice(1));
    const text = await metrics.render();
    const after = parsePrometheus(text);
    expect(valueOf(after, 'bellows_target_up', { target: 'doomed' })).toBe(0);
    expect(samplesOf(after, 'bellows_runs', { target: 'doomed' })).toEqual([]);
    expect(valueOf(after, 'bellows_target_up', { target: 'alive' })).toBe(1);
    expect(valueOf(after, 'bellows_runs', { target: 'alive', status: 'running' })).toBe(0);
    expect(told).toEqual(['doomed']);
    expect(text).not.toContain(PASSWORD);
  });

  it('a target that never answers is up 0 once its time is up, and does not hold the others', async () => {
    // Accepts connections and says nothing: a database behind a dead network path.
    const silent = net.createServer(() => {});
    await new Promise<void>((resolve) => silent.listen(0, '127.0.0.1', resolve));
    atFileEnd(() => new Promise((resolve) => silent.close(resolve)));
    const port = (silent.address() as net.AddressInfo).port;
    const alive = await freshDatabase();
    // No connect timeout of its own (0: wait for ever): only the collector's time limit can end the wait.
    const silentStore = storeAt(`postgres://postgres@127.0.0.1:${port}/nothing`, 0);
    // Registered after the store's pool, so it runs before the pool ends: the connect still waiting then fails at once.
    const sockets: net.Socket[] = [];
    silent.on('connection', (s) => sockets.push(s));
    atFileEnd(() => sockets.forEach((s) => s.destroy()));

    const metrics = createMetrics([{ name: 'silent', store: silentStore }, { name: 'alive', store: storeAt(alive.url) }], { timeoutMs: 1_000 });
    const text = await metrics.render();
    const s = parsePrometheus(text);
    expect(valueOf(s, 'bellows_target_up', { target: 'silent' })).toBe(0);
    // Bellows never ran there: the store answers, with no runs.
    expect(valueOf(s, 'bellows_target_up', { target: 'alive' })).toBe(1);
    expect(valueOf(s, 'bellows_runs', { target: 'alive', status: 'completed' })).toBe(0);
    expect(text).not.toContain(PASSWORD);
  });

  it('two collectors in one process each show their own targets', async () => {
    const a = await freshDatabase();
    const first = createMetrics([{ name: 'first', store: storeAt(a.url) }]);
    const second = createMetrics([{ name: 'second', store: storeAt(a.url) }]);
    const [one, two] = (await Promise.all([first.render(), second.render()])).map(parsePrometheus);
    expect(samplesOf(one, 'bellows_target_up').map((x) => x.labels.target)).toEqual(['first']);
    expect(samplesOf(two, 'bellows_target_up').map((x) => x.labels.target)).toEqual(['second']);
    expect(first.contentType).toMatch(/^text\/plain; version=0\.0\.4/);
  });
});
