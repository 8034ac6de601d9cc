import { readdir, stat } from 'node:fs/promises';
import { extname, join } from 'node:path';
import { InputError } from '../errors.ts';

const PLAYBOOK_EXTENSIONS = new Set(['.yaml', '.yml', '.json']);

/** The playbook files a path names: itself, or the playbooks of a directory (not subdirectories, not JSON Schemas), by name. */
export async function playbookFiles(path: string): Promise<string[]> {
  const info = await stat(path).catch(() => null);
  if (!info) throw new InputError(`lint: ${path}: no such file or directory`);
  if (!info.isDirectory()) return [path];
  const names = (await readdir(path)).filter((n) => PLAYBOOK_EXTENSIONS.has(extname(n)) && !n.endsWith('.schema.json')).sort();
  if (!names.length) throw new InputError(`lint: ${path}: no playbooks (.yaml, .yml, .json) in this directory`);
  return names.map((n) => join(path, n));
}
