import { RunFailedError } from '../errors.ts';

/**
 * A command that owns resources to clean up in order (an embedded server, a
 * scratch database) takes Ctrl-C as a request to stop: its signal aborts, the
 * command unwinds through its clean-ups. A second signal ends the process at once.
 */
export function stopOnSignals(command: string) {
  const signals = ['SIGINT', 'SIGTERM', 'SIGHUP'] as const;
  const controller = new AbortController();
  const onSignal = (signal: NodeJS.Signals) => {
    if (controller.signal.aborted) process.exit(signal === 'SIGINT' ? 130 : 143);
    controller.abort(new RunFailedError(`${command} interrupted`));
  };
  for (const signal of signals) process.on(signal, onSignal);
  return {
    signal: controller.signal,
    get aborted() {
      return controller.signal.aborted;
    },
    throwIfAborted() {
      if (controller.signal.aborted) throw new RunFailedError(`${command} interrupted`);
    },
    release() {
      for (const signal of signals) process.off(signal, onSignal);
    },
  };
}
