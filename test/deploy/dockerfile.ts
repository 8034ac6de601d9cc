import { runs, type DeployFiles, type Image } from './deploy-model.ts';
import { simpleCommands } from './shell-words.ts';

/** A Dockerfile: what its image runs (ENTRYPOINT, CMD), with which environment (ENV), on which ports (EXPOSE). */
export interface Dockerfile extends Image {
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

export function readDockerfileProcess(text: string, file: string, out: DeployFiles): void {
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
