import type { Context } from 'hono';
import { streamSSE } from 'hono/streaming';
import type { RunsMonitor } from './monitor.ts';

/**
 * `GET /api/stream`: a `runs` event with the /api/runs answer at once, then
 * each time the monitor sees it change (at most once a second). Ends when the
 * client goes or the server shuts down.
 */
export function streamRuns(c: Context, monitor: RunsMonitor, shutdown: AbortSignal) {
  return streamSSE(c, async (stream) => {
    const gone = new Promise<void>((resolve) => {
      stream.onAbort(resolve);
      if (shutdown.aborted) resolve();
      shutdown.addEventListener('abort', () => resolve(), { once: true });
    });
    let sent: string | null = null;
    // One write at a time, in order: a slow client gets the newest answer, never a reordered one.
    let writing = Promise.resolve();
    const send = (json: string) => {
      writing = writing.then(async () => {
        if (json === sent || stream.aborted) return;
        sent = json;
        await stream.writeSSE({ event: 'runs', data: json });
      });
    };
    const unsubscribe = monitor.subscribe(send);
    try {
      send(await monitor.current());
      await gone;
    } finally {
      unsubscribe();
      await writing.catch(() => {});
    }
  });
}
