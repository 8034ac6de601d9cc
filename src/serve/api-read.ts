import { Hono } from 'hono';
import { runEvents, runPlan, runStatus } from '../operator/index.ts';
import { runsOfAllTargets } from './monitor.ts';
import type { RateHistory } from './rates.ts';
import { targetNamed, type Target } from './targets.ts';

/**
 * The read API, open without a token: each answer is what the CLI's `--json`
 * prints for the same question (status, events, plan --run), so that scripts
 * and the page may use either.
 */
export function readApi(targets: Map<string, Target>, rates: RateHistory): Hono {
  const api = new Hono();
  const reader = (name: string) => {
    const target = targetNamed(targets, name);
    return { target, ctx: target.context(target.store.actor) };
  };

  api.get('/runs', async (c) => c.json(await runsOfAllTargets(targets)));

  api.get('/targets/:target/runs/:run', async (c) => {
    const { target, ctx } = reader(c.req.param('target'));
    return c.json(await runStatus(ctx, c.req.param('run'), target.probes));
  });

  api.get('/targets/:target/runs/:run/events', async (c) => {
    const { ctx } = reader(c.req.param('target'));
    return c.json(await runEvents(ctx, c.req.param('run')));
  });

  api.get('/targets/:target/runs/:run/plan', async (c) => {
    const { ctx } = reader(c.req.param('target'));
    return c.json(await runPlan(ctx, c.req.param('run')));
  });

  api.get('/targets/:target/runs/:run/rates', async (c) => {
    const { target } = reader(c.req.param('target'));
    // A run named by its playbook is its latest run, as everywhere else.
    const run = await target.store.findRun(c.req.param('run'));
    return c.json(rates.samples(target.name, run.id));
  });

  return api;
}
