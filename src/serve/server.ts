import type { AddressInfo } from 'node:net';
import type { Server } from 'node:http';
import { createAdaptorServer } from '@hono/node-server';
import type { Hono } from 'hono';
import { EnvironmentError, InputError } from '../errors.ts';
import type { Logger } from '../log.ts';
import { buildApp } from './app.ts';
import { BackgroundDrives } from './drives.ts';
import type { ListenAddress } from './listen.ts';
import { RunsMonitor } from './monitor.ts';
import { RateHistory } from './rates.ts';
import type { TargetConfig } from './targets-config.ts';
import { closeTargets, openTargets } from './targets.ts';

export interface ServeOptions {
  listen: ListenAddress;
  targets: TargetConfig[];
  stateSchema?: string;
  /** BELLOWS_TOKEN; without it the server is read-only. */
  token?: string;
  /** Lifecycle lines for the operator (listening, background drives); already free of passwords. */
  say: (line: string) => void;
  log: Logger;
  pageDir?: string;
}

export interface RunningServer {
  /** Where it listens, e.g. http://127.0.0.1:7070 (the port it got, for --listen …:0). */
  url: string;
  /** Stops listening, ends the streams, stops background drives at a checkpoint, closes every pool. */
  close(): Promise<void>;
}

/**
 * Opens every target (all or none), then listens. A target that cannot be
 * reached, or an address that cannot be bound, fails the start with nothing
 * left open.
 */
export async function startServer(options: ServeOptions): Promise<RunningServer> {
  const targets = await openTargets(options.targets, options.stateSchema, options.log);
  const rates = new RateHistory();
  const monitor = new RunsMonitor(targets, rates, options.log);
  const drives = new BackgroundDrives(options.say, options.log);
  const shutdown = new AbortController();
  const app = buildApp({ targets, rates, monitor, drives, token: options.token, log: options.log, shutdown: shutdown.signal, pageDir: options.pageDir });
  let server: Server;
  try {
    server = await listen(app, options.listen);
  } catch (err) {
    await closeTargets(targets);
    throw err;
  }
  const { port } = server.address() as AddressInfo;
  const host = options.listen.host.includes(':') ? `[${options.listen.host}]` : options.listen.host;
  let closing: Promise<void> | null = null;
  return {
    url: `http://${host}:${port}`,
    close: () =>
      (closing ??= (async () => {
        const stopped = new Promise<void>((resolve) => server.close(() => resolve()));
        shutdown.abort();
        server.closeIdleConnections();
        await monitor.stop();
        await drives.close();
        // Whatever is still open (a stream mid-write, a slow client) goes now.
        server.closeAllConnections();
        await stopped;
        await closeTargets(targets);
      })()),
  };
}

function listen(app: Hono, { host, port }: ListenAddress): Promise<Server> {
  const server = createAdaptorServer({ fetch: app.fetch, hostname: host, port }) as Server;
  return new Promise((resolve, reject) => {
    server.once('error', (err: NodeJS.ErrnoException) => reject(listenError(err, host, port)));
    server.listen(port, host, () => resolve(server));
  });
}

/** An address this machine does not have is a bad flag; one in use or not allowed is the environment's. */
function listenError(err: NodeJS.ErrnoException, host: string, port: number): Error {
  const where = `--listen ${host}:${port}`;
  switch (err.code) {
    case 'EADDRNOTAVAIL':
    case 'ENOTFOUND':
    case 'EAI_AGAIN':
      return new InputError(`${where}: no such address on this machine`);
    case 'EADDRINUSE':
      return new EnvironmentError(`${where}: the address is in use (another bellows serve?)`);
    case 'EACCES':
      return new EnvironmentError(`${where}: not allowed to listen there (ports below 1024 need privileges)`);
    default:
      return new EnvironmentError(`${where}: cannot listen: ${err.message}`);
  }
}
