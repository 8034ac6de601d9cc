import { spawn, type ChildProcess } from 'node:child_process';
import { readFileSync } from 'node:fs';

/** A child process whose output is kept and whose exit is a promise. */
export interface Child {
  pid: number;
  process: ChildProcess;
  output(): string;
  exited: Promise<{ code: number | null; signal: NodeJS.Signals | null }>;
}

const live = new Set<ChildProcess>();

/** Children still running when the bench itself is interrupted are stopped by their own pid, nothing else. */
export function killLiveChildren(): void {
  for (const child of live) if (child.exitCode === null && child.signalCode === null) child.kill('SIGKILL');
}

export function start(command: string, args: string[], options: { env?: NodeJS.ProcessEnv; cwd?: string } = {}): Child {
  const child = spawn(command, args, { env: options.env ?? process.env, cwd: options.cwd, stdio: ['ignore', 'pipe', 'pipe'] });
  if (child.pid === undefined) {
    child.once('error', () => {}); // the spawn error (ENOENT) is said here, not left to crash the bench
    throw new Error(`could not start ${command} (is it on PATH?)`);
  }
  live.add(child);
  let out = '';
  child.stdout!.on('data', (d: Buffer) => (out += d.toString()));
  child.stderr!.on('data', (d: Buffer) => (out += d.toString()));
  const exited = new Promise<{ code: number | null; signal: NodeJS.Signals | null }>((resolve, reject) => {
    child.once('error', reject);
    child.once('close', (code, signal) => {
      live.delete(child);
      resolve({ code, signal });
    });
  });
  return { pid: child.pid, process: child, output: () => out, exited };
}

/**
 * The end of a command's output for an error message: its last lines, without
 * terminal colour codes, and short even when a progress spinner wrote it all on
 * one line (pgroll's does).
 */
export function outputTail(output: string, maxChars = 400): string {
  const plain = output.replace(/\x1b\[[0-9;]*[A-Za-z]/g, '').trim().split(/[\r\n]+/).slice(-5).join(' / ');
  return plain.length > maxChars ? `…${plain.slice(-maxChars)}` : plain;
}

/** Runs a command to its end; a non-zero exit is an error carrying the end of the command's output. */
export async function run(command: string, args: string[], options: { env?: NodeJS.ProcessEnv; cwd?: string } = {}): Promise<string> {
  const child = start(command, args, options);
  const { code, signal } = await child.exited;
  if (code !== 0) throw new Error(`${command} ${args[0] ?? ''} exited ${code ?? signal}: ${outputTail(child.output())}`);
  return child.output();
}

/** A field of /proc/<pid>/status in kB (VmHWM is the peak resident set), or null once the process is gone. */
export function procStatusKb(pid: number, field: 'VmHWM' | 'VmRSS'): number | null {
  try {
    const match = readFileSync(`/proc/${pid}/status`, 'utf8').match(new RegExp(`^${field}:\\s+(\\d+) kB`, 'm'));
    return match ? Number(match[1]) : null;
  } catch {
    return null;
  }
}

export const sleep = (ms: number) => new Promise<void>((resolve) => setTimeout(resolve, ms));

/** Polls until `probe` returns a value other than undefined, or fails after `timeoutMs`. */
export async function waitFor<T>(what: string, probe: () => Promise<T | undefined>, timeoutMs: number, intervalMs = 100): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const value = await probe();
    if (value !== undefined) return value;
    if (Date.now() > deadline) throw new Error(`timed out after ${Math.round(timeoutMs / 1000)} s waiting for ${what}`);
    await sleep(intervalMs);
  }
}
