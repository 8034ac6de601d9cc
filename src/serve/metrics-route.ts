import type { Context } from 'hono';
import { redactText } from '../db/redact.ts';
import type { Logger } from '../log.ts';
import { createMetrics } from '../metrics/index.ts';
import type { Target } from './targets.ts';

/**
 * `/metrics`: each scrape reads every target's state store, where the workers
 * (in other processes) record their figures. A target that does not answer is
 * `bellows_target_up 0`, never a failed scrape.
 */
export function metricsRoute(targets: Map<string, Target>, log: Logger) {
  const metrics = createMetrics(
    [...targets.values()].map((t) => ({ name: t.name, store: t.store, probe: (run) => t.probes.probe(run) })),
    { onTargetError: (target, err) => log.warn({ target, err: redactText(String((err as Error)?.message ?? err)) }, 'metrics: target did not answer') },
  );
  return async (c: Context) => c.body(await metrics.render(), 200, { 'Content-Type': metrics.contentType });
}
