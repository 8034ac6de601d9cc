import { spawn, type ChildProcess } from 'node:child_process';
import { chmodSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { atFileEnd } from '../helpers/cleanup.ts';
import { BIN, childEnv } from '../helpers/cli.ts';
import type { RunbookStep } from './runbook-steps.ts';

/** A command that runs longer than this hangs (a foreground `watch` of a run that never settles, say). */
const COMMAND_TIMEOUT_MS = 120_000;
/** How long a `# wait for:` keeps running its command again. */
const WAIT_FOR_MS = 90_000;
/** An operator looks again every few seconds; each look starts the CLI, which costs a core for a second or two. */
const WAIT_FOR_EVERY_MS = 2_000;
/** A background command (a worker draining its batches) gets this long to stop after SIGTERM. */
const STOP_GRACE_MS = 20_000;

/** What happens around the operator: the test's hooks, called before and after each command. */
export interface World {
  before?(step: RunbookStep): Promise<void> | void;
  after?(step: RunbookStep, output: string): Promise<void> | void;
}

interface Ran {
  code: number | null;
  signal: NodeJS.Signals | null;
  output: string;
}

interface Background {
  step: RunbookStep;
  child: ChildProcess;
  output(): string;
  exited: Promise<Ran>;
  done: Ran | null;
}

/** `bellows` on PATH as an installed package puts it there: this checkout's CLI. */
let shimDir: string | null = null;
function bellowsOnPath(): string {
  if (shimDir) return shimDir;
  shimDir = mkdtempSync(join(tmpdir(), 'bellows-runbook-bin-'));
  const dir = shimDir;
  writeFileSync(join(dir, 'bellows'), `#!/bin/sh\nexec "${process.execPath}" "${BIN}" "$@"\n`);
  chmodSync(join(dir, 'bellows'), 0o755);
  atFileEnd(() => rmSync(dir, { recursive: true, force: true }));
  return dir;
}

/** The operator's shell: bash, unset placeholders an error, in its own process group so that all of it can be stopped. */
function shell(command: string, env: NodeJS.ProcessEnv) {
  const child = spawn('bash', ['-uc', command], { env, stdio: ['ignore', 'pipe', 'pipe'], detached: true });
  let output = '';
  child.stdout!.setEncoding('utf8').on('data', (d: string) => (output += d));
  child.stderr!.setEncoding('utf8').on('data', (d: string) => (output += d));
  const exited = new Promise<Ran>((resolve, reject) => {
    child.on('error', reject);
    child.on('close', (code, signal) => resolve({ code, signal, output }));
  });
  return { child, exited, output: () => output };
}

function killGroup(child: ChildProcess, signal: NodeJS.Signals): void {
  try {
    process.kill(-child.pid!, signal);
  } catch {
    // Already gone.
  }
}

async function runOnce(step: RunbookStep, env: NodeJS.ProcessEnv): Promise<Ran> {
  const { child, exited } = shell(step.command, env);
  const timer = setTimeout(() => killGroup(child, 'SIGKILL'), COMMAND_TIMEOUT_MS);
  try {
    return await exited;
  } finally {
    clearTimeout(timer);
  }
}

/** Placeholders in an expectation, replaced as the shell replaces them in the command. */
function substitute(text: string, env: NodeJS.ProcessEnv): string {
  return text.replace(/\$\{?([A-Z_][A-Z0-9_]*)\}?/g, (whole, name: string) => env[name] ?? whole);
}

function report(step: RunbookStep, problem: string, ran: Ran): Error {
  const how = ran.signal ? `killed by ${ran.signal}` : `exit ${ran.code}`;
  return new Error(`${step.where}: ${problem}\n$ ${step.command}\n(${how})\n${ran.output}`);
}

/**
 * Runs a runbook's commands in order, as an operator would type them, with the
 * placeholders in `vars` (DATABASE_URL, RUN, PLAYBOOK…) set in the shell, `path`
 * on its PATH after `bellows`, and the world's hooks around each command. Throws at the first command that exits
 * otherwise than the runbook says or does not show what it says to look for.
 * Background commands are stopped (SIGTERM, then SIGKILL) when it ends.
 */
export async function runRunbook(
  steps: RunbookStep[],
  vars: Record<string, string>,
  { world = {}, path = [] }: { world?: World; path?: string[] } = {},
): Promise<void> {
  const env = childEnv({ env: { ...vars, NO_COLOR: '1' } });
  env.PATH = [bellowsOnPath(), ...path, env.PATH ?? ''].join(':');
  const background: Background[] = [];
  // A background command that failed (a worker given a wrong flag) fails the runbook, whenever that shows.
  const checkBackground = () => {
    for (const b of background) {
      if (b.done && b.done.code !== 0) throw report(b.step, 'this background command failed', b.done);
    }
  };
  try {
    for (const step of steps) {
      await world.before?.(step);
      checkBackground();
      if (step.background) {
        const { child, exited, output } = shell(step.command, env);
        const b: Background = { step, child, output, exited, done: null };
        void exited.then((r) => (b.done = r));
        background.push(b);
        await world.after?.(step, '');
        continue;
      }
      const deadline = Date.now() + WAIT_FOR_MS;
      let ran: Ran;
      for (;;) {
        ran = await runOnce(step, env);
        // While waiting, a failure is one more reason to look again (the run `start &` creates may not exist yet).
        if (ran.code !== step.exit && !step.waitFor) throw report(step, `expected exit ${step.exit}`, ran);
        if (ran.code === step.exit && (!step.waitFor || ran.output.includes(substitute(step.waitFor, env)))) break;
        checkBackground();
        if (Date.now() > deadline) {
          throw report(step, `waited ${WAIT_FOR_MS / 1000} s for "${substitute(step.waitFor!, env)}" and exit ${step.exit}; the last try`, ran);
        }
        await new Promise((r) => setTimeout(r, WAIT_FOR_EVERY_MS));
      }
      for (const text of step.expect) {
        if (!ran.output.includes(substitute(text, env))) throw report(step, `expected the output to show "${substitute(text, env)}"`, ran);
      }
      await world.after?.(step, ran.output);
    }
    checkBackground();
  } finally {
    await Promise.all(
      background.map(async (b) => {
        if (b.done) return;
        killGroup(b.child, 'SIGTERM');
        const timer = setTimeout(() => killGroup(b.child, 'SIGKILL'), STOP_GRACE_MS);
        await b.exited.catch(() => {});
        clearTimeout(timer);
      }),
    );
  }
}
