import { existsSync, readdirSync, readFileSync } from 'node:fs';
import { createServer } from 'node:net';
import { basename, join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { parsePlaybookText } from '../../src/playbook/load.ts';
import { REPO, spawnCli, waitFor } from '../helpers/cli.ts';
import { freshDatabase } from '../helpers/db.ts';
import { cliRefusal, commandOption, optionEnvNames, subcommandOf } from './cli-check.ts';
import { readDeployFiles, yamlDocuments } from './deploy-files.ts';
import type { BellowsProcess } from './deploy-model.ts';
import { readDockerfile } from './dockerfile.ts';
import { DIRECT_ENV, envReadsInSource } from './env-reads.ts';
import { bellowsArguments } from './shell-words.ts';

/**
 * The files in deploy/ against the program they start: every bellows command line in them is
 * one the real CLI accepts, every variable they set for bellows is one it reads, every port they
 * probe, publish or route is the one `serve` listens on, and every probe path is one it answers.
 * No stale flag survives a rename.
 */

const deploy = readDeployFiles(REPO);
/** Test cases named after the command line, in full (vitest shortens an object's `$name`). */
const named = (p: BellowsProcess): [string, BellowsProcess] => [`${p.file} ${p.where}: bellows ${p.argv.join(' ')}`, p];

describe('deploy/', () => {
  it.each(deploy.files.filter((f) => /\.(ya?ml|json)$/.test(f)))('%s parses', (file) => {
    const text = readFileSync(join(REPO, file), 'utf8');
    const docs = file.endsWith('.json') ? [JSON.parse(text)] : yamlDocuments(text, file);
    expect(docs.length).toBeGreaterThan(0);
  });

  it('has a bellows command line in every container of the bellows image, for each executor and the server', () => {
    expect(deploy.unread, 'the bellows image runs, but no bellows command line was found').toEqual([]);
    const found = new Set(deploy.processes.map((p) => p.file));
    for (const file of ['deploy/Dockerfile', 'deploy/compose.yaml']) expect(found, `no bellows command line found in ${file}`).toContain(file);
    const lines = deploy.processes.map((p) => p.argv.join(' '));
    for (const wanted of [/^worker .*--executor bullmq/, /^worker .*--executor temporal/, /^serve /, /^start /]) {
      expect(lines.some((l) => wanted.test(l)), `no command line like ${wanted}`).toBe(true);
    }
  });
});

describe('bellows command lines in deploy/ are ones the CLI accepts', () => {
  it.each(deploy.processes.map(named))('%s', async (_, process) => {
    expect(await cliRefusal(process.argv)).toBeNull();
  });
});

describe('environment variables set for bellows in deploy/', () => {
  const reads = new Set([...optionEnvNames(), ...Object.keys(DIRECT_ENV)]);
  const bySetter = new Map<string, string[]>();
  for (const s of deploy.env) bySetter.set(`${s.file} ${s.where}`, [...(bySetter.get(`${s.file} ${s.where}`) ?? []), s.name]);

  it.each([...bySetter.keys()])('%s sets only variables bellows reads', (setter) => {
    const unknown = bySetter.get(setter)!.filter((name) => !reads.has(name) && !deploy.configEnv.has(name));
    expect(unknown, 'not read by bellows: not an option’s .env() nor in test/deploy/env-reads.ts DIRECT_ENV').toEqual([]);
  });

  it('DIRECT_ENV is exactly what the source reads besides the options’ variables', () => {
    const options = optionEnvNames();
    const read = envReadsInSource(REPO);
    const direct = [...read.keys()].filter((name) => !options.has(name)).sort();
    const unlisted = direct.filter((name) => !(name in DIRECT_ENV)).map((name) => `${name} (${read.get(name)!.join(', ')})`);
    const unread = Object.keys(DIRECT_ENV).filter((name) => !direct.includes(name));
    expect({ unlisted, unread }).toEqual({ unlisted: [], unread: [] });
  });
});

describe('ports and probes in deploy/', () => {
  const servers = deploy.processes.filter((p) => subcommandOf(p.argv) === 'serve');
  const probes = servers.flatMap((p) => p.probes);

  it.each(servers.map(named))('%s: every port published, probed, routed or scraped is the --listen port', (_, process) => {
    const listen = listenAddress(process);
    if (typeof listen === 'string') expect.fail(listen);
    if (process.inContainer) {
      expect(listen.host, 'in a container, a server on loopback is out of reach of probes, Services and published ports').not.toMatch(/^(127\.|localhost$|::1$)/);
    }
    expect(process.ports.filter((p) => p.port !== listen.port)).toEqual([]);
  });

  it('aims ports, probes and Services only at a bellows serve', () => {
    expect(deploy.strays).toEqual([]);
  });

  it('probes liveness (and start-up, and compose health) on /healthz and readiness on /readyz', () => {
    expect(probes.length).toBeGreaterThan(0);
    // A database outage must take the server out of rotation, never restart it.
    const wrong = probes.filter((p) => p.path !== (p.kind === 'readiness' ? '/readyz' : '/healthz'));
    expect(wrong).toEqual([]);
  });

  it('bellows serve answers 200 on every probe path the deploy files use', async () => {
    const paths = [...new Set(probes.map((p) => p.path))];
    const db = await freshDatabase();
    const port = await freePort();
    const server = spawnCli(['serve', '--listen', `127.0.0.1:${port}`], { db: db.url });
    try {
      await waitFor('bellows serve to answer', async () => {
        if (server.child.exitCode !== null) throw new Error(`bellows serve exited ${server.child.exitCode}: ${server.stderr()}`);
        return fetch(`http://127.0.0.1:${port}/healthz`).then(() => true, () => false);
      });
      for (const path of paths) {
        const response = await fetch(`http://127.0.0.1:${port}${path}`);
        expect(response.status, `${path}: ${await response.text()}`).toBe(200);
      }
    } finally {
      server.kill();
      await server.exited;
    }
  });
});

describe('the bellows image (deploy/Dockerfile)', () => {
  it('has bellows as its entry point, so a container’s command is bellows’ arguments', () => {
    const image = readDockerfile(readFileSync(join(REPO, 'deploy/Dockerfile'), 'utf8'));
    expect(bellowsArguments(image.entrypoint ?? [])).toEqual([]);
  });

  it('installs with npm ci --omit=dev everything the program imports (tsx included)', () => {
    const { dependencies } = JSON.parse(readFileSync(join(REPO, 'package.json'), 'utf8')) as { dependencies: Record<string, string> };
    const missing = [...runtimeImports()].filter(([pkg]) => !(pkg in dependencies)).map(([pkg, file]) => `${pkg} (${file})`);
    expect(missing).toEqual([]);
  });
});

describe('playbooks started by a Kubernetes Job', () => {
  const starts = deploy.processes.filter((p) => p.playbook);

  it.each(starts.map(named))('%s: the playbook is in a mounted ConfigMap and loads', (_, process) => {
    const { text, configMapKey } = process.playbook!;
    expect(text, `no ConfigMap of this file provides ${configMapKey}`).toBeDefined();
    expect(() => parsePlaybookText(text!, configMapKey)).not.toThrow();
    // A copy of an example playbook must stay the example.
    const example = join(REPO, 'playbooks', basename(process.playbook!.path));
    if (existsSync(example)) expect(text).toBe(readFileSync(example, 'utf8'));
  });
});

/** Where a `serve` listens: --listen, else its environment variable, else the option's default. */
function listenAddress(process: BellowsProcess): { host: string; port: number } | string {
  const option = commandOption('serve', '--listen');
  const at = process.argv.findIndex((a) => a === '--listen' || a.startsWith('--listen='));
  let value: unknown = at < 0 ? undefined : process.argv[at].includes('=') ? process.argv[at].slice('--listen='.length) : process.argv[at + 1];
  if (value === undefined && option?.envVar) value = process.env.get(option.envVar);
  if (value === undefined) value = option?.defaultValue;
  if (typeof value !== 'string') return option ? 'serve: no --listen and no default to fall back on' : 'bellows has no `serve --listen`';
  const m = /^\[?([^\]]*)\]?:(\d+)$/.exec(value);
  return m ? { host: m[1], port: Number(m[2]) } : `--listen ${value}: not host:port`;
}

/** Packages the sources load at run time (not `import type`), each with a file that does. */
function runtimeImports(): Map<string, string> {
  const found = new Map<string, string>();
  const patterns = [/(?:^|\n)\s*(?:import|export)\s+(?!type\b)[^;]*?\bfrom\s+['"]([^'"]+)['"]/g, /\bimport\(\s*['"]([^'"]+)['"]\s*\)/g, /(?:^|\n)\s*import\s+['"]([^'"]+)['"]/g];
  const files = (dir: string): string[] => readdirSync(dir, { withFileTypes: true }).flatMap((e) => (e.isDirectory() ? files(join(dir, e.name)) : /\.(ts|mjs)$/.test(e.name) ? [join(dir, e.name)] : []));
  for (const file of [...files(join(REPO, 'src')), ...files(join(REPO, 'workflows'))]) {
    const text = readFileSync(file, 'utf8');
    for (const pattern of patterns) {
      for (const [, specifier] of text.matchAll(pattern)) {
        if (specifier.startsWith('.') || specifier.startsWith('node:')) continue;
        const pkg = specifier.split('/').slice(0, specifier.startsWith('@') ? 2 : 1).join('/');
        if (!found.has(pkg)) found.set(pkg, file.slice(REPO.length));
      }
    }
  }
  return found;
}

function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const server = createServer();
    server.once('error', reject);
    server.listen(0, '127.0.0.1', () => {
      const { port } = server.address() as { port: number };
      server.close(() => resolve(port));
    });
  });
}
