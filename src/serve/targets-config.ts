import { readFile } from 'node:fs/promises';
import { extname } from 'node:path';
import { z } from 'zod';
import { redactText, redactUrl } from '../db/redact.ts';
import { isPostgresUrl } from '../db/url-password.ts';
import { InputError } from '../errors.ts';
import { formatPath } from '../playbook/load.ts';
import { parseYaml, YamlError } from '../playbook/yaml.ts';
import { printableLine, shown } from '../util/printable.ts';

/** A database whose bellows state store the server serves, under a name the API and the page use. */
export interface TargetConfig {
  name: string;
  url: string;
}

/** Names go into URL paths (/api/targets/<name>/…) and metric labels: plain ones only. */
const NAME = /^[A-Za-z0-9][A-Za-z0-9_.-]{0,62}$/;

/** `url` may be `env:VAR`, so that a password need not sit in a file or on a command line. */
const ENV_REF = /^env:([A-Za-z_][A-Za-z0-9_]*)$/;

const fileSchema = z.strictObject({
  targets: z.array(z.strictObject({ name: z.string(), url: z.string() })).min(1),
});

/** `--target name=url`. */
export function parseTargetFlag(value: string): TargetConfig {
  const eq = value.indexOf('=');
  if (eq < 1) throw new InputError(`--target: expected name=url (e.g. app=postgres://host/app or app=env:APP_DATABASE_URL), got ${shown(redactUrl(value))}`);
  return checked({ name: value.slice(0, eq), url: value.slice(eq + 1) }, '--target');
}

/** `--config <file>`: YAML or JSON, `{ targets: [{ name, url }] }`. */
export async function readTargetsFile(path: string): Promise<TargetConfig[]> {
  let text: string;
  try {
    text = await readFile(path, 'utf8');
  } catch (err) {
    const code = (err as NodeJS.ErrnoException).code;
    throw new InputError(`--config ${path}: cannot read (${code === 'ENOENT' ? 'no such file' : code ?? 'error'})`);
  }
  let document: unknown;
  try {
    document = extname(path).toLowerCase() === '.json' ? JSON.parse(text) : parseYaml(text);
  } catch (err) {
    // JSON.parse quotes the text around the error, which may be a password: say only where.
    const at = /position (\d+)/.exec((err as Error).message)?.[1];
    const reason = err instanceof YamlError ? redactText(err.message) : `not valid JSON${at ? ` (at character ${at})` : ''}`;
    throw new InputError(`--config ${path}: ${printableLine(reason, 160)}`);
  }
  const parsed = fileSchema.safeParse(document);
  if (!parsed.success) {
    const issue = parsed.error.issues[0];
    throw new InputError(`--config ${path}: ${formatPath(issue.path)}: ${issue.message} (expected { targets: [ { name, url } ] })`);
  }
  return parsed.data.targets.map((t, i) => checked(t, `--config ${path}: targets[${i}]`));
}

/**
 * The targets to serve: --target flags and --config entries, else the global
 * database URL as the one target `default`. Names must differ.
 */
export function chooseTargets(fromFlags: TargetConfig[], fromFile: TargetConfig[], defaultUrl: string | undefined): TargetConfig[] {
  const targets = [...fromFlags, ...fromFile];
  if (targets.length === 0) {
    if (!defaultUrl) throw new InputError('serve: no target: pass --target name=url, --config <file>, or --database-url (or set DATABASE_URL)');
    targets.push(checked({ name: 'default', url: defaultUrl }, '--database-url'));
  }
  const seen = new Set<string>();
  for (const t of targets) {
    if (seen.has(t.name)) throw new InputError(`serve: target ${shown(t.name)} is named twice; each target needs its own name`);
    seen.add(t.name);
  }
  return targets;
}

function checked(target: TargetConfig, where: string): TargetConfig {
  if (!NAME.test(target.name)) {
    throw new InputError(`${where}: target name ${shown(target.name)} must be letters, digits, '_', '.' or '-' (at most 63, starting with a letter or digit)`);
  }
  const ref = ENV_REF.exec(target.url);
  const url = ref ? process.env[ref[1]] : target.url;
  if (ref && !url) throw new InputError(`${where}: target ${target.name}: environment variable ${ref[1]} is not set`);
  if (!isPostgresUrl(url!)) throw new InputError(`${where}: target ${target.name}: expected a postgres:// URL, got ${shown(redactUrl(url!))}`);
  return { name: target.name, url: url! };
}
