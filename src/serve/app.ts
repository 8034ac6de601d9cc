import { Hono } from 'hono';
import type { Logger } from '../log.ts';
import { redactText } from '../db/redact.ts';
import { actionsApi } from './api-actions.ts';
import { readApi } from './api-read.ts';
import type { BackgroundDrives } from './drives.ts';
import { healthRoutes } from './health.ts';
import { httpError } from './http-errors.ts';
import type { RunsMonitor } from './monitor.ts';
import { metricsRoute } from './metrics-route.ts';
import { pageFiles } from './page.ts';
import type { RateHistory } from './rates.ts';
import { streamRuns } from './stream.ts';
import type { Target } from './targets.ts';

export interface AppDeps {
  targets: Map<string, Target>;
  rates: RateHistory;
  monitor: RunsMonitor;
  drives: BackgroundDrives;
  /** BELLOWS_TOKEN; without it the server is read-only. */
  token: string | undefined;
  log: Logger;
  /** Ends the live streams when the server shuts down. */
  shutdown: AbortSignal;
  pageDir?: string;
}

/** `bellows serve`'s routes: see the serve contract (README, "bellows serve"). */
export function buildApp(deps: AppDeps): Hono {
  const app = new Hono();
  app.route('/', healthRoutes(deps.targets));
  app.get('/api/session', (c) => c.json({ writable: Boolean(deps.token), targets: [...deps.targets.keys()] }));
  app.get('/api/stream', (c) => streamRuns(c, deps.monitor, deps.shutdown));
  app.route('/api', readApi(deps.targets, deps.rates));
  app.route('/api', actionsApi(deps.targets, deps.drives, deps.token));
  app.get('/metrics', metricsRoute(deps.targets, deps.log));
  app.use('/*', pageFiles(deps.pageDir));

  app.notFound((c) => (c.req.path.startsWith('/api/') ? c.json({ error: `no such endpoint: ${c.req.method} ${c.req.path}` }, 404) : c.text('not found', 404)));
  app.onError((err, c) => {
    const { status, error } = httpError(err);
    if (status === 500) deps.log.error({ method: c.req.method, path: c.req.path, err: redactText(err.stack ?? err.message) }, 'request failed');
    return c.json({ error }, status);
  });
  return app;
}
