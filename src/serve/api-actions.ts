import { Hono, type Context } from 'hono';
import { getConnInfo } from '@hono/node-server/conninfo';
import { InputError } from '../errors.ts';
import { approveRun, pauseRun, resumeRun, rollbackRun, runStatus, tuneRun, type ActionResult, type OperatorContext } from '../operator/index.ts';
import type { Tuning } from '../state/types.ts';
import { shown } from '../util/printable.ts';
import { requireToken } from './auth.ts';
import type { BackgroundDrives } from './drives.ts';
import { targetNamed, type Target } from './targets.ts';

/** What the dashboard may tune: the rate and its shape, not queries or URLs (those stay with the CLI and its operator). */
const TUNABLE = ['parallelism', 'maxRowsPerSec', 'batchTimeMs'] as const;

type Action = (ctx: OperatorContext, run: string, c: Context) => Promise<ActionResult>;

/** The CLI's actions, with its defaults: a run resumed or approved here stops at the gate, as `resume` and `approve` do. */
const ACTIONS: Record<string, Action> = {
  pause: (ctx, run) => pauseRun(ctx, run),
  resume: (ctx, run) => resumeRun(ctx, run, { stopAtGate: true }),
  approve: (ctx, run) => approveRun(ctx, run),
  rollback: (ctx, run) => rollbackRun(ctx, run),
  tune: async (ctx, run, c) => tuneRun(ctx, run, tuningFrom(await jsonBody(c))),
};

/**
 * The write API: each action goes through the operator API with the CLI's
 * checks and messages, as `web <remote address>`; a run that nothing else will
 * carry on is driven by the server in the background, and the answer comes at once.
 */
export function actionsApi(targets: Map<string, Target>, drives: BackgroundDrives, token: string | undefined): Hono {
  const api = new Hono();
  api.post('/targets/:target/runs/:run/:action', requireToken(token), async (c) => {
    const name = c.req.param('action');
    const action = Object.hasOwn(ACTIONS, name) ? ACTIONS[name] : undefined;
    if (!action) return c.json({ error: `no action ${shown(name)} (one of: ${Object.keys(ACTIONS).join(', ')})` }, 404);
    const target = targetNamed(targets, c.req.param('target'));
    const ctx = target.context(`web ${getConnInfo(c).remote.address ?? 'unknown'}`);
    const result = await action(ctx, c.req.param('run'), c);
    if (result.driveHere) drives.start(target, result.run, result.driveHere);
    return c.json({ message: result.message, run: await runStatus(ctx, result.run.id, target.probes) });
  });
  return api;
}

async function jsonBody(c: Context): Promise<unknown> {
  const text = await c.req.text();
  try {
    return JSON.parse(text);
  } catch {
    throw new InputError('tune: the body is not JSON; send { "parallelism"?, "maxRowsPerSec"?, "batchTimeMs"? }');
  }
}

/** The body's settings, refused whole if it holds anything else; their values are checked by the playbook schema (tuneRun). */
function tuningFrom(body: unknown): Tuning {
  if (body === null || typeof body !== 'object' || Array.isArray(body)) {
    throw new InputError('tune: the body is a JSON object: { "parallelism"?, "maxRowsPerSec"?, "batchTimeMs"? }');
  }
  const unknown = Object.keys(body).find((key) => !(TUNABLE as readonly string[]).includes(key));
  if (unknown !== undefined) throw new InputError(`tune: ${shown(unknown)} cannot be tuned from the API (it tunes ${TUNABLE.join(', ')}; the CLI tunes the rest)`);
  return Object.fromEntries(Object.entries(body).filter(([, v]) => v !== undefined)) as Tuning;
}
