import { readdirSync, readFileSync } from 'node:fs';
import { basename, dirname, join, relative, resolve } from 'node:path';
import { parseAllDocuments } from 'yaml';
import { readCompose } from './compose.ts';
import { isObject, type DeployFiles } from './deploy-model.ts';
import { readDockerfile, readDockerfileProcess } from './dockerfile.ts';
import { readKubernetes } from './kubernetes.ts';
import { readRunbook } from './runbook.ts';

/** The files under deploy/, each read by the reader of its format into one DeployFiles (deploy-model.ts). */

/** Every document of a YAML file (compose anchors and merge keys resolved); a parse error or warning throws. */
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
  const out: DeployFiles = { files, processes: [], env: [], configEnv: new Set(), strays: [], unread: [] };
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
