import { spawn, type ChildProcess } from 'node:child_process';
import { existsSync } from 'node:fs';
import { createServer, connect } from 'node:net';
import { homedir } from 'node:os';
import { join } from 'node:path';
import type { TestProject } from 'vitest/node';

/**
 * A real Temporal server for the temporal suites: TEMPORAL_ADDRESS if set (CI
 * starts one), else the Temporal CLI's dev server from TEMPORAL_CLI_PATH or the
 * cache .ci/run builds it into. Never skipped: without either, setup fails.
 */
let server: ChildProcess | undefined;

function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const s = createServer();
    s.once('error', reject);
    s.listen(0, '127.0.0.1', () => {
      const { port } = s.address() as { port: number };
      s.close(() => resolve(port));
    });
  });
}

function reachable(port: number): Promise<boolean> {
  return new Promise((resolve) => {
    const socket = connect(port, '127.0.0.1');
    socket.once('connect', () => (socket.destroy(), resolve(true)));
    socket.once('error', () => resolve(false));
  });
}

export async function setup(project: TestProject) {
  let address = process.env.TEMPORAL_ADDRESS;
  if (!address) {
    const cli = process.env.TEMPORAL_CLI_PATH ?? join(homedir(), '.cache/bellows/bin/temporal');
    if (!existsSync(cli)) {
      throw new Error(`no Temporal server: set TEMPORAL_ADDRESS, or TEMPORAL_CLI_PATH to the temporal CLI (.ci/run builds it into ${cli})`);
    }
    const port = await freePort();
    const [http, metrics] = [await freePort(), await freePort()];
    server = spawn(cli, ['server', 'start-dev', '--headless', '--ip', '127.0.0.1', '--port', String(port),
      '--http-port', String(http), '--metrics-port', String(metrics), '--log-level', 'error'], { stdio: 'ignore' });
    const deadline = Date.now() + 60_000;
    while (!(await reachable(port))) {
      if (server.exitCode !== null) throw new Error(`the Temporal dev server exited with ${server.exitCode}`);
      if (Date.now() > deadline) throw new Error('the Temporal dev server did not start within 60 s');
      await new Promise((r) => setTimeout(r, 200));
    }
    address = `127.0.0.1:${port}`;
  }
  project.provide('temporalAddress', address);
}

export async function teardown() {
  server?.kill('SIGTERM');
}

declare module 'vitest' {
  export interface ProvidedContext {
    temporalAddress: string;
  }
}
