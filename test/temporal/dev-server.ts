import { spawn, type ChildProcess } from 'node:child_process';
import { connect } from 'node:net';
import { homedir } from 'node:os';
import { join } from 'node:path';
import { freePort } from '../../src/util/free-port.ts';
import { atFileEnd } from '../helpers/cleanup.ts';
import { waitFor } from '../helpers/poll.ts';

/**
 * A Temporal dev server of the test's own, for a test that kills its server:
 * the suite's shared one serves the other files. It keeps its state in memory,
 * so a restart on the same port is a server that lost everything it knew.
 */
export interface PrivateTemporal {
  readonly address: string;
  /** kill -9, then start again, empty, on the same port. */
  restartEmpty(): Promise<void>;
}

function reachable(port: number): Promise<boolean> {
  return new Promise((resolve) => {
    const socket = connect(port, '127.0.0.1');
    socket.once('connect', () => (socket.destroy(), resolve(true)));
    socket.once('error', () => resolve(false));
  });
}

export async function privateTemporal(): Promise<PrivateTemporal> {
  const cli = process.env.TEMPORAL_CLI_PATH ?? join(homedir(), '.cache/bellows/bin/temporal');
  const [port, http, metrics] = [await freePort(), await freePort(), await freePort()];
  let server: ChildProcess;
  const start = async () => {
    server = spawn(cli, ['server', 'start-dev', '--headless', '--ip', '127.0.0.1', '--port', String(port),
      '--http-port', String(http), '--metrics-port', String(metrics), '--log-level', 'error'], { stdio: 'ignore' });
    await waitFor('the private Temporal server to listen', () => reachable(port), 60_000, 200);
  };
  await start();
  atFileEnd(() => server.kill('SIGKILL'));
  return {
    address: `127.0.0.1:${port}`,
    async restartEmpty() {
      const exited = new Promise((resolve) => server.once('exit', resolve));
      server.kill('SIGKILL');
      await exited;
      await start();
    },
  };
}
