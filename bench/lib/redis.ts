import { tmpdir } from 'node:os';
import { freePort } from '../../src/util/free-port.ts';
import { outputTail, start, waitFor } from './proc.ts';

/** A redis-server of the bench's own: never the machine's, emptied by being stopped. */
export interface BenchRedis {
  url: string;
  stop(): Promise<void>;
}

/**
 * Starts a redis-server on a free port of 127.0.0.1 with no persistence, and
 * returns once it accepts connections. The caller stops it (SIGKILL: it holds
 * nothing worth saving); an interrupted bench stops it with its other children.
 */
export async function startRedis(): Promise<BenchRedis> {
  const port = await freePort();
  const child = start('redis-server', ['--port', String(port), '--bind', '127.0.0.1', '--save', '', '--appendonly', 'no', '--dir', tmpdir()]);
  const stop = async () => {
    if (child.process.exitCode === null && child.process.signalCode === null) child.process.kill('SIGKILL');
    await child.exited.catch(() => {});
  };
  try {
    await waitFor(
      `redis-server on port ${port}`,
      async () => {
        if (child.process.exitCode !== null) throw new Error(`redis-server exited (${child.process.exitCode}): ${outputTail(child.output())}`);
        return child.output().includes('Ready to accept connections') ? true : undefined;
      },
      30_000,
      50,
    );
  } catch (err) {
    await stop();
    throw err;
  }
  return { url: `redis://127.0.0.1:${port}`, stop };
}
