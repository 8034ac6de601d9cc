import { describe as show, spawnCli, waitFor, type CliOptions, type CliProcess, type CliResult } from './cli.ts';

/**
 * `bellows serve` as an operator starts it: the real CLI in a child process, on
 * a port the system picks (`--listen 127.0.0.1:0`), found in the line it prints.
 * Every answer it gives is kept, so a test can say what never appeared in any.
 */
export interface ServeProcess {
  url: string;
  proc: CliProcess;
  /** Every response body so far, and the server's own output. */
  everything(): string;
  call(path: string, options?: CallOptions): Promise<Answer>;
  /** SIGTERM (or `signal`), then its exit. */
  stop(signal?: NodeJS.Signals): Promise<CliResult>;
}

export interface CallOptions {
  method?: 'GET' | 'POST';
  token?: string;
  body?: unknown;
  /** Raw Authorization header, for malformed ones. */
  authorization?: string;
}

export interface Answer {
  status: number;
  contentType: string | null;
  text: string;
  json(): any;
}

export async function startServe(args: string[], options: CliOptions & { token?: string } = {}): Promise<ServeProcess> {
  const proc = spawnCli(['serve', '--listen', '127.0.0.1:0', ...args], {
    ...options,
    env: { ...options.env, BELLOWS_TOKEN: options.token },
  });
  let exited: CliResult | null = null;
  void proc.exited.then((r) => (exited = r));
  const url = await waitFor('bellows serve to listen', async () => {
    if (exited) throw new Error(`bellows serve exited before listening:\n${show(exited)}`);
    return /listening on (http:\/\/\S+) /.exec(proc.stdout())?.[1];
  });
  const bodies: string[] = [];
  return {
    url,
    proc,
    everything: () => [...bodies, proc.stdout(), proc.stderr()].join('\n'),
    async call(path, { method = 'GET', token, body, authorization } = {}) {
      const headers: Record<string, string> = {};
      if (token) headers.authorization = `Bearer ${token}`;
      if (authorization !== undefined) headers.authorization = authorization;
      if (body !== undefined) headers['content-type'] = 'application/json';
      const response = await fetch(url + path, { method, headers, body: body === undefined ? undefined : typeof body === 'string' ? body : JSON.stringify(body) });
      const text = await response.text();
      bodies.push(text);
      return { status: response.status, contentType: response.headers.get('content-type'), text, json: () => JSON.parse(text) };
    },
    async stop(signal = 'SIGTERM') {
      proc.kill(signal);
      return proc.exited;
    },
  };
}

/** The `runs` events of /api/stream as they come, until `enough` says so (or the deadline). */
export async function streamedRuns(url: string, enough: (events: any[]) => boolean, timeoutMs = 60_000): Promise<{ events: any[]; contentType: string | null }> {
  const abort = new AbortController();
  const timer = setTimeout(() => abort.abort(), timeoutMs);
  const events: any[] = [];
  let contentType: string | null = null;
  try {
    const response = await fetch(`${url}/api/stream`, { signal: abort.signal });
    contentType = response.headers.get('content-type');
    const decoder = new TextDecoder();
    let buffer = '';
    for await (const chunk of response.body as unknown as AsyncIterable<Uint8Array>) {
      buffer += decoder.decode(chunk, { stream: true });
      let end: number;
      while ((end = buffer.indexOf('\n\n')) >= 0) {
        const block = buffer.slice(0, end);
        buffer = buffer.slice(end + 2);
        const event = /^event: (.*)$/m.exec(block)?.[1];
        const data = [...block.matchAll(/^data: (.*)$/gm)].map((m) => m[1]).join('\n');
        if (event === 'runs') events.push(JSON.parse(data));
      }
      if (enough(events)) break;
    }
  } catch (err) {
    if (!abort.signal.aborted) throw err;
  } finally {
    clearTimeout(timer);
    abort.abort();
  }
  return { events, contentType };
}
