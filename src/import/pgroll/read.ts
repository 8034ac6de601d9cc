import { readdir, readFile, stat } from 'node:fs/promises';
import { basename, extname, join } from 'node:path';
import { InputError } from '../../errors.ts';
import { parseYaml, YamlError } from '../../playbook/yaml.ts';
import { printableLine } from '../../util/printable.ts';
import type { PgrollSource } from './convert.ts';

/** The extensions pgroll itself reads migrations from. */
const EXTENSIONS = new Set(['.json', '.yaml', '.yml']);

function parse(text: string, file: string): unknown {
  if (extname(file).toLowerCase() === '.json') {
    try {
      return JSON.parse(text);
    } catch (err) {
      throw new InputError(`import: ${basename(file)}: not valid JSON: ${printableLine((err as Error).message, 120)}`);
    }
  }
  try {
    return parseYaml(text);
  } catch (err) {
    if (err instanceof YamlError) throw new InputError(`import: ${basename(file)}: ${err.message}`);
    throw err;
  }
}

async function readMigration(file: string): Promise<PgrollSource> {
  const name = basename(file);
  let text: string;
  try {
    text = await readFile(file, 'utf8');
  } catch (err) {
    throw new InputError(`import: ${name}: cannot read (${(err as NodeJS.ErrnoException).code ?? 'error'})`);
  }
  // As pgroll does: without a `name` inside, the file's name without its extension names the migration.
  return { source: name, defaultName: name.slice(0, name.length - extname(name).length), document: parse(text, file) };
}

/** One migration file, or every migration file of a directory in file-name order (pgroll's order). */
export async function readPgrollMigrations(path: string): Promise<PgrollSource[]> {
  let info;
  try {
    info = await stat(path);
  } catch (err) {
    const code = (err as NodeJS.ErrnoException).code;
    throw new InputError(`import: ${path}: cannot read (${code === 'ENOENT' ? 'no such file or directory' : code ?? 'error'})`);
  }
  if (!info.isDirectory()) return [await readMigration(path)];
  const files = (await readdir(path)).filter((f) => EXTENSIONS.has(extname(f).toLowerCase())).sort();
  if (files.length === 0) throw new InputError(`import: ${path}: no pgroll migrations (*.json, *.yaml, *.yml) in this directory`);
  return Promise.all(files.map((f) => readMigration(join(path, f))));
}
