import { bellowsArguments, simpleCommands } from './shell-words.ts';

/**
 * What the files under deploy/ ask of bellows, read the way Docker Compose, Kubernetes, Docker
 * and a reader of a runbook would: every bellows process they start (its arguments, its
 * environment), and every port and probe path they expect a `bellows serve` to answer on.
 */

export interface Port {
  where: string;
  /** null: a port name that names no port of the container. */
  port: number | null;
}

export type ProbeKind = 'liveness' | 'readiness' | 'startup' | 'healthcheck';

export interface Probe {
  where: string;
  kind: ProbeKind;
  path: string;
}

export interface BellowsProcess {
  file: string;
  where: string;
  /** The arguments after `bellows`. */
  argv: string[];
  /** The environment the file gives it, with the values it writes out. */
  env: Map<string, string | undefined>;
  /** In a container: a server there must listen beyond the container's loopback to be reached. */
  inContainer: boolean;
  /** Ports the file expects it to serve on: published, probed, behind a Service, scraped. */
  ports: Port[];
  probes: Probe[];
  /** `start <playbook>` in Kubernetes: the playbook the mounted ConfigMap provides (text undefined: none does). */
  playbook?: { path: string; configMapKey: string; text: string | undefined };
}

/** An environment variable a file sets for bellows: a process's, or a runbook's `export BELLOWS_…`. */
export interface EnvSetting {
  file: string;
  where: string;
  name: string;
}

export interface DeployFiles {
  /** Every file under deploy/, relative to the repository. */
  files: string[];
  processes: BellowsProcess[];
  env: EnvSetting[];
  /** Names a `bellows serve --config` file reads with `url: env:NAME`. */
  configEnv: Set<string>;
  /** Ports, probes and Services aimed at something that serves no HTTP: each a mistake. */
  strays: string[];
  /** Containers of the bellows image in which no bellows command line was found: unchecked. */
  unread: string[];
}

/** What an image runs when a container does not say: deploy/Dockerfile's ENTRYPOINT and CMD. */
export interface Image {
  entrypoint?: string[];
  cmd?: string[];
}

export interface Run {
  argv: string[];
  assignments: Array<[string, string]>;
}

/** The bellows runs of a container's command: the program itself, or in a `sh -c` script. */
export function runs(words: string[]): Run[] {
  const direct = bellowsArguments(words);
  if (direct) return [{ argv: direct, assignments: [] }];
  const dashC = words.indexOf('-c');
  if (dashC >= 1 && /(^|\/)(sh|bash|ash|dash)$/.test(words[0]) && typeof words[dashC + 1] === 'string') {
    return simpleCommands(words[dashC + 1]).flatMap((cmd) => {
      const argv = bellowsArguments(cmd.words);
      return argv ? [{ argv, assignments: cmd.assignments }] : [];
    });
  }
  return [];
}

/** A compose `command:` written as one string is split into words as a shell would. */
export function commandWords(value: unknown): string[] | undefined {
  if (value === undefined || value === null) return undefined;
  if (Array.isArray(value)) return value.map(String);
  return simpleCommands(String(value)).flatMap((cmd) => [...cmd.assignments.map(([n, v]) => `${n}=${v}`), ...cmd.words]);
}

/** `registry.example.com/bellows:0.1.0`, `bellows:dev`: an image of deploy/Dockerfile, by its name. */
export function isBellowsImage(image: unknown): boolean {
  if (typeof image !== 'string') return false;
  const last = image.split('@')[0].split('/').pop() ?? '';
  return last.split(':')[0] === 'bellows';
}

export function isObject(value: unknown): value is Record<string, unknown> {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}

export function asArray(value: unknown): unknown[] {
  return Array.isArray(value) ? value : [];
}
