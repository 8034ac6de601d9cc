import { Hono } from 'hono';
import type { Target } from './targets.ts';

/** Probes for a process supervisor: live while it serves, ready while every target's state store answers. */
export function healthRoutes(targets: Map<string, Target>): Hono {
  const routes = new Hono();
  routes.get('/healthz', (c) => c.text('ok'));
  routes.get('/readyz', async (c) => {
    const answers = await Promise.all([...targets.values()].map((t) => t.ready()));
    const ready = answers.every((a) => a.ready);
    return c.json({ ready, targets: answers }, ready ? 200 : 503);
  });
  return routes;
}
