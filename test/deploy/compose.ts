import { join, resolve } from 'node:path';
import { subcommandOf } from './cli-check.ts';
import { asArray, commandWords, isBellowsImage, isObject, runs, type DeployFiles, type Image, type Port, type Probe } from './deploy-model.ts';

/**
 * A Docker Compose file: each service of the bellows image (or whose command runs bellows), with
 * its environment, and for a server its published ports and its healthcheck's URL.
 */
export function readCompose(doc: Record<string, unknown>, file: string, dir: string, repo: string, image: Image, out: DeployFiles): void {
  for (const [name, service] of Object.entries(doc.services as Record<string, unknown>)) {
    if (!isObject(service)) continue;
    const where = `services.${name}`;
    const bellows = isBellowsImage(service.image) || builtFromDeployDockerfile(service.build, dir, repo);
    const entrypoint = commandWords(service.entrypoint) ?? (bellows ? image.entrypoint : undefined);
    const command = commandWords(service.command) ?? (bellows && service.entrypoint === undefined ? image.cmd : undefined);
    const found = runs([...(entrypoint ?? []), ...(command ?? [])]);
    if (bellows && found.length === 0) out.unread.push(`${file} ${where}`);
    if (found.length === 0) continue; // not bellows: postgres, redis, temporal
    const healthcheck = composeHealthcheck(service, where);
    const ports = [...composePorts(service, where), ...healthcheck.ports];
    const probes = healthcheck.probes;
    const env = composeEnvironment(service.environment);
    for (const run of found) {
      const subcommand = subcommandOf(run.argv);
      const serves = subcommand === 'serve';
      out.processes.push({
        file,
        where,
        argv: run.argv,
        env: new Map([...env, ...run.assignments]),
        inContainer: true,
        ports: serves ? ports : [],
        probes: serves ? probes : [],
      });
      if (!serves && (ports.length || probes.length)) out.strays.push(`${file} ${where}: ports or an HTTP healthcheck on bellows ${subcommand}, which serves no HTTP`);
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
