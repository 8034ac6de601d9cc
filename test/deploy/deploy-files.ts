import { readdirSync, readFileSync } from 'node:fs';
import { basename, dirname, join, relative, resolve } from 'node:path';
import { parseAllDocuments } from 'yaml';
import { subcommandOf } from './cli-check.ts';
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
}

interface Image {
  entrypoint?: string[];
  cmd?: string[];
}

export function yamlDocuments(text: string, file: string): unknown[] {
  return parseAllDocuments(text, { merge: true }).map((doc) => {
    const problems = [...doc.errors, ...doc.warnings];
    if (problems.length) throw new Error(`${file}: ${problems.map((p) => p.message).join('; ')}`);
    return doc.toJS();
  });
}

export function readDeployFiles(repo: string): DeployFiles {
  const root = join(repo, 'deploy');
  const files = allFiles(root).map((f) => relative(repo, f));
  const image = readDockerfile(readFileSync(join(root, 'Dockerfile'), 'utf8'));
  const out: DeployFiles = { files, processes: [], env: [], configEnv: new Set(), strays: [] };
  for (const file of files) {
    const text = readFileSync(join(repo, file), 'utf8');
    for (const [, name] of text.matchAll(/\benv:([A-Z_][A-Z0-9_]*)/g)) out.configEnv.add(name);
    if (/\.ya?ml$/.test(file)) {
      const docs = yamlDocuments(text, file).filter(isObject);
      const compose = docs.filter((doc) => isObject(doc.services));
      for (const doc of compose) readCompose(doc, file, resolve(repo, dirname(file)), repo, image, out);
      readKubernetes(docs.filter((doc) => typeof doc.kind === 'string'), file, image, out);
    } else if (basename(file) === 'Dockerfile') {
      readDockerfileProcess(text, file, out);
    } else if (file.endsWith('.md')) {
      readRunbook(text, file, out);
    }
  }
  for (const p of out.processes) {
    for (const name of p.env.keys()) out.env.push({ file: p.file, where: p.where, name });
  }
  return out;
}

function allFiles(dir: string): string[] {
  return readdirSync(dir, { withFileTypes: true }).flatMap((entry) =>
    entry.isDirectory() ? allFiles(join(dir, entry.name)) : [join(dir, entry.name)],
  );
}

// ---------------------------------------------------------------- Dockerfile

interface Dockerfile extends Image {
  env: Map<string, string>;
  expose: number[];
}

export function readDockerfile(text: string): Dockerfile {
  const out: Dockerfile = { env: new Map(), expose: [] };
  const lines = text.replace(/\\\r?\n/g, ' ').split('\n');
  for (const line of lines) {
    const m = /^\s*([A-Za-z]+)\s+(.*)$/.exec(line);
    if (!m || line.trimStart().startsWith('#')) continue;
    const [, instruction, rest] = m;
    switch (instruction.toUpperCase()) {
      case 'ENTRYPOINT':
        out.entrypoint = execForm(rest);
        break;
      case 'CMD':
        out.cmd = execForm(rest);
        break;
      case 'ENV':
        for (const [name, value] of envInstruction(rest)) out.env.set(name, value);
        break;
      case 'EXPOSE':
        out.expose.push(...rest.trim().split(/\s+/).map((p) => Number(p.split('/')[0])));
        break;
    }
  }
  return out;
}

/** `["node", "x"]` is run as is; any other form by `/bin/sh -c`. */
function execForm(rest: string): string[] {
  return rest.trim().startsWith('[') ? (JSON.parse(rest) as string[]) : ['/bin/sh', '-c', rest.trim()];
}

/** `ENV A=1 B="2"`, or the old `ENV A 1`. */
function envInstruction(rest: string): Array<[string, string]> {
  const words = simpleCommands(rest)[0] ?? { assignments: [], words: [] };
  if (words.assignments.length) return words.assignments;
  const [name, ...value] = rest.trim().split(/\s+/);
  return [[name, value.join(' ')]];
}

function readDockerfileProcess(text: string, file: string, out: DeployFiles): void {
  const image = readDockerfile(text);
  for (const [i, run] of runs([...(image.entrypoint ?? []), ...(image.cmd ?? [])]).entries()) {
    out.processes.push({
      file,
      where: `ENTRYPOINT + CMD${i ? ` #${i + 1}` : ''}`,
      argv: run.argv,
      env: new Map([...image.env, ...run.assignments]),
      inContainer: true,
      ports: image.expose.map((port) => ({ where: 'EXPOSE', port })),
      probes: [],
    });
  }
}

// ---------------------------------------------------------------- command lines

interface Run {
  argv: string[];
  assignments: Array<[string, string]>;
}

/** The bellows runs of a container's command: the program itself, or in a `sh -c` script. */
function runs(words: string[]): Run[] {
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
function commandWords(value: unknown): string[] | undefined {
  if (value === undefined || value === null) return undefined;
  if (Array.isArray(value)) return value.map(String);
  return simpleCommands(String(value)).flatMap((cmd) => [...cmd.assignments.map(([n, v]) => `${n}=${v}`), ...cmd.words]);
}

/** `registry.example.com/bellows:0.1.0`, `bellows:dev`: an image of deploy/Dockerfile, by its name. */
function isBellowsImage(image: unknown): boolean {
  if (typeof image !== 'string') return false;
  const last = image.split('@')[0].split('/').pop() ?? '';
  return last.split(':')[0] === 'bellows';
}

// ---------------------------------------------------------------- Docker Compose

function readCompose(doc: Record<string, unknown>, file: string, dir: string, repo: string, image: Image, out: DeployFiles): void {
  for (const [name, service] of Object.entries(doc.services as Record<string, unknown>)) {
    if (!isObject(service)) continue;
    const where = `services.${name}`;
    const bellows = isBellowsImage(service.image) || builtFromDeployDockerfile(service.build, dir, repo);
    const entrypoint = commandWords(service.entrypoint) ?? (bellows ? image.entrypoint : undefined);
    const command = commandWords(service.command) ?? (bellows && service.entrypoint === undefined ? image.cmd : undefined);
    const found = runs([...(entrypoint ?? []), ...(command ?? [])]);
    if (found.length === 0) continue; // not bellows: postgres, redis, temporal
    const healthcheck = composeHealthcheck(service, where);
    const ports = [...composePorts(service, where), ...healthcheck.ports];
    const probes = healthcheck.probes;
    const env = composeEnvironment(service.environment);
    for (const run of found) {
      const serves = subcommandOf(run.argv) === 'serve';
      out.processes.push({
        file,
        where,
        argv: run.argv,
        env: new Map([...env, ...run.assignments]),
        inContainer: true,
        ports: serves ? ports : [],
        probes: serves ? probes : [],
      });
      if (!serves && (ports.length || probes.length)) out.strays.push(`${file} ${where}: ports or an HTTP healthcheck on bellows ${run.argv[0]}, which serves no HTTP`);
    }
  }
}

function builtFromDeployDockerfile(build: unknown, dir: string, repo: string): boolean {
  if (build === undefined) return false;
  const context = typeof build === 'string' ? build : isObject(build) ? String(build.context ?? '.') : '.';
  const dockerfile = isObject(build) && typeof build.dockerfile === 'string' ? build.dockerfile : 'Dockerfile';
  return resolve(dir, context, dockerfile) === join(repo, 'deploy', 'Dockerfile');
}

function composeEnvironment(environment: unknown): Map<string, string | undefined> {
  if (Array.isArray(environment)) {
    return new Map(environment.map((item) => {
      const [name, ...value] = String(item).split('=');
      return [name, value.length ? value.join('=') : undefined];
    }));
  }
  if (isObject(environment)) return new Map(Object.entries(environment).map(([k, v]) => [k, v === null ? undefined : String(v)]));
  return new Map();
}

/** The container side of `ports:` ("127.0.0.1:7070:7070", 7070, { target: 7070 }) and `expose:`. */
function composePorts(service: Record<string, unknown>, where: string): Port[] {
  const ports: Port[] = [];
  for (const entry of asArray(service.ports)) {
    const target = isObject(entry) ? entry.target : String(entry).split('/')[0].split(':').pop();
    ports.push({ where: `${where}.ports ${JSON.stringify(entry)}`, port: Number(target) });
  }
  for (const entry of asArray(service.expose)) ports.push({ where: `${where}.expose ${entry}`, port: Number(String(entry).split('/')[0]) });
  return ports;
}

/** A healthcheck that calls a URL: a probe of its path, on its port. */
function composeHealthcheck(service: Record<string, unknown>, where: string): { probes: Probe[]; ports: Port[] } {
  const test = isObject(service.healthcheck) ? commandWords(service.healthcheck.test)?.join(' ') ?? '' : '';
  const urls = [...test.matchAll(/https?:\/\/[^/\s'"`]+:(\d+)(\/[^\s'"`?#)]*)?/g)];
  return {
    probes: urls.map((m) => ({ where: `${where}.healthcheck`, kind: 'healthcheck' as const, path: m[2] ?? '/' })),
    ports: urls.map((m) => ({ where: `${where}.healthcheck ${m[0]}`, port: Number(m[1]) })),
  };
}

// ---------------------------------------------------------------- Kubernetes

interface PodTemplate {
  where: string;
  labels: Record<string, string>;
  annotations: Record<string, string>;
  spec: Record<string, unknown>;
}

function readKubernetes(docs: Array<Record<string, unknown>>, file: string, image: Image, out: DeployFiles): void {
  const pods = docs.flatMap((doc) => podTemplates(doc, `${doc.kind}/${(doc.metadata as { name?: string } | undefined)?.name}`));
  const services = docs.filter((doc) => doc.kind === 'Service');
  const configMaps = new Map(docs.filter((doc) => doc.kind === 'ConfigMap').map((doc) => [String((doc.metadata as { name?: string }).name), (doc.data ?? {}) as Record<string, string>]));
  const selected = new Set<PodTemplate>();
  const servicePorts = new Map<PodTemplate, Array<{ where: string; target: string | number }>>();
  for (const service of services) {
    const name = `Service/${(service.metadata as { name?: string }).name}`;
    const spec = service.spec as { selector?: Record<string, string>; ports?: Array<{ port: number; targetPort?: string | number; name?: string }> };
    const matching = pods.filter((pod) => Object.entries(spec.selector ?? {}).every(([k, v]) => pod.labels[k] === v) && spec.selector);
    if (matching.length === 0) out.strays.push(`${file} ${name}: selects no pod of this file`);
    for (const pod of matching) {
      selected.add(pod);
      for (const p of spec.ports ?? []) {
        servicePorts.set(pod, [...(servicePorts.get(pod) ?? []), { where: `${name} port ${p.name ?? p.port} targetPort`, target: p.targetPort ?? p.port }]);
      }
    }
  }
  for (const pod of pods) {
    const containers = [...asArray(pod.spec.initContainers), ...asArray(pod.spec.containers)].filter(isObject);
    let serving = 0;
    for (const container of containers) {
      const where = `${pod.where} container ${container.name}`;
      const bellows = isBellowsImage(container.image);
      const command = commandWords(container.command);
      const entrypoint = command ?? (bellows ? image.entrypoint : undefined);
      const args = commandWords(container.args) ?? (command ? [] : bellows ? image.cmd : undefined);
      const found = runs([...(entrypoint ?? []), ...(args ?? [])]);
      const named = new Map(asArray(container.ports).filter(isObject).map((p) => [String(p.name), Number(p.containerPort)]));
      const port = (target: unknown, at: string): Port => ({ where: at, port: typeof target === 'number' || /^\d+$/.test(String(target)) ? Number(target) : named.get(String(target)) ?? null });
      const probes: Probe[] = [];
      const probePorts: Port[] = [];
      for (const kind of ['liveness', 'readiness', 'startup'] as const) {
        const get = (container[`${kind}Probe`] as { httpGet?: { path?: string; port?: unknown } } | undefined)?.httpGet;
        if (!get) continue;
        probes.push({ where: `${where} ${kind}Probe`, kind, path: get.path ?? '/' });
        probePorts.push(port(get.port, `${where} ${kind}Probe port`));
      }
      for (const run of found) {
        const env = new Map<string, string | undefined>(asArray(container.env).filter(isObject).map((e) => [String(e.name), typeof e.value === 'string' ? e.value : undefined]));
        // $(NAME) in the arguments is Kubernetes' substitution: the variable exists to build a flag's value.
        const substituted = [...[...(command ?? []), ...(args ?? [])].join(' ').matchAll(/(?<!\$)\$\(([A-Za-z_][A-Za-z0-9_]*)\)/g)].map((m) => m[1]);
        for (const name of substituted) env.delete(name);
        const serves = subcommandOf(run.argv) === 'serve';
        if (serves) serving++;
        const process: BellowsProcess = { file, where, argv: run.argv, env, inContainer: true, ports: [], probes: [] };
        if (serves) {
          process.probes = probes;
          process.ports = [
            ...asArray(container.ports).filter(isObject).map((p) => ({ where: `${where} containerPort ${p.name ?? ''}`.trim(), port: Number(p.containerPort) })),
            ...probePorts,
            ...(servicePorts.get(pod) ?? []).map((s) => port(s.target, s.where)),
            ...(pod.annotations['prometheus.io/port'] ? [{ where: `${pod.where} annotation prometheus.io/port`, port: Number(pod.annotations['prometheus.io/port']) }] : []),
          ];
        } else if (probes.length) {
          out.strays.push(`${file} ${where}: HTTP probes on bellows ${run.argv[0]}, which serves no HTTP`);
        }
        if (subcommandOf(run.argv) === 'start') process.playbook = mountedPlaybook(run.argv, container, pod, configMaps);
        out.processes.push(process);
      }
    }
    if (serving === 0 && selected.has(pod)) out.strays.push(`${file} ${pod.where}: a Service selects it, but it serves nothing`);
    if (serving === 0 && pod.annotations['prometheus.io/scrape'] === 'true') out.strays.push(`${file} ${pod.where}: scraped by Prometheus, but it serves nothing`);
  }
}

/** Pods and pod templates anywhere in a document: Pod, Deployment, Job, CronJob, … */
function podTemplates(node: unknown, where: string): PodTemplate[] {
  if (!isObject(node)) return [];
  const spec = node.spec;
  if (isObject(spec) && Array.isArray(spec.containers)) {
    const metadata = (node.metadata ?? {}) as { labels?: Record<string, string>; annotations?: Record<string, string> };
    return [{ where, labels: metadata.labels ?? {}, annotations: metadata.annotations ?? {}, spec }];
  }
  return Object.values(node).flatMap((child) => podTemplates(child, where));
}

/** The file a `start` reads, when it lies in a volume made from a ConfigMap of the same file. */
function mountedPlaybook(argv: string[], container: Record<string, unknown>, pod: PodTemplate, configMaps: Map<string, Record<string, string>>): BellowsProcess['playbook'] {
  const path = argv.find((a) => /\.(ya?ml|json)$/.test(a));
  if (!path) return undefined;
  for (const mount of asArray(container.volumeMounts).filter(isObject)) {
    const dir = String(mount.mountPath).replace(/\/$/, '');
    if (!path.startsWith(`${dir}/`)) continue;
    const volume = asArray(pod.spec.volumes).filter(isObject).find((v) => v.name === mount.name);
    const configMap = volume && isObject(volume.configMap) ? String(volume.configMap.name) : undefined;
    const key = path.slice(dir.length + 1);
    return { path, configMapKey: `${configMap}/${key}`, text: configMap ? configMaps.get(configMap)?.[key] : undefined };
  }
  return { path, configMapKey: '(no volume mounted there)', text: undefined };
}

// ---------------------------------------------------------------- runbooks

/** Shell blocks of a Markdown file: ```sh, ```bash, ```shell, ```console (with `$ ` prompts). */
export function shellBlocks(markdown: string): Array<{ line: number; text: string }> {
  const blocks: Array<{ line: number; text: string }> = [];
  const lines = markdown.split('\n');
  for (let i = 0; i < lines.length; i++) {
    const open = /^(\s*)(`{3,}|~{3,})\s*(sh|bash|shell|console|zsh)\b/.exec(lines[i]);
    if (!open) continue;
    const [, indent, fence] = open;
    const body: string[] = [];
    let j = i + 1;
    while (j < lines.length && !lines[j].trimStart().startsWith(fence)) body.push(lines[j++].slice(indent.length).replace(/^\$ /, ''));
    blocks.push({ line: i + 2, text: body.join('\n') });
    i = j;
  }
  return blocks;
}

function readRunbook(text: string, file: string, out: DeployFiles): void {
  for (const block of shellBlocks(text)) {
    for (const cmd of simpleCommands(block.text)) {
      const where = `line ${block.line + cmd.line - 1}`;
      const argv = bellowsArguments(cmd.words);
      if (argv) {
        out.processes.push({ file, where, argv, env: new Map(cmd.assignments), inContainer: false, ports: [], probes: [] });
        continue;
      }
      // `export BELLOWS_…=` or a bare assignment: set for the bellows commands that follow.
      const assigned = cmd.words[0] === 'export' ? cmd.words.slice(1).map((w) => w.split('=')[0]) : cmd.words.length === 0 ? cmd.assignments.map(([n]) => n) : [];
      for (const name of assigned.filter((n) => n.startsWith('BELLOWS_'))) out.env.push({ file, where, name });
    }
  }
}

// ---------------------------------------------------------------- helpers

function isObject(value: unknown): value is Record<string, unknown> {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}

function asArray(value: unknown): unknown[] {
  return Array.isArray(value) ? value : [];
}
