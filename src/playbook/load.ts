import { readFile } from 'node:fs/promises';
import { createHash } from 'node:crypto';
import { extname } from 'node:path';
import type { z } from 'zod';
import { InputError } from '../errors.ts';
import { printableLine, shown } from '../util/printable.ts';
import { playbookSchema, settingsSchema, type Playbook, type Settings } from './schema.ts';
import { parseYaml, YamlError } from './yaml.ts';

/**
 * A playbook is a reviewed change, written by people: the examples are under 1 kB
 * with one or two operations. The limits sit far above any change worth
 * reviewing and far below what hurts. 1 MB: reading, parsing and validating stay
 * instant, and the stored plan stays small. 500 operations: they all run in one
 * run, their contract in one transaction holding every table's lock until it
 * commits, and a bigger change is safer split into several playbooks anyway.
 */
export const PLAYBOOK_LIMITS = { bytes: 1024 * 1024, operations: 500 } as const; // bytes: 1 MB, as messages say

/** How much of the rest of a validation report one error line may carry. */
const MORE_BUDGET = 160;

/** `operations[1].alter_column.up` from zod's path array. */
export function formatPath(path: ReadonlyArray<PropertyKey>): string {
  let out = '';
  for (const part of path) {
    if (typeof part === 'number') out += `[${part}]`;
    else out += (out ? '.' : '') + String(part);
  }
  return out || '(playbook)';
}

function describeIssue(issue: z.core.$ZodIssue, prefix: PropertyKey[]): string {
  return `${formatPath([...prefix, ...issue.path])}: ${issue.message}`;
}

/** Zod's own messages, except where they would echo unknown keys back in full. */
function issueMessage(issue: z.core.$ZodRawIssue): string | undefined {
  if (issue.code === 'invalid_type' && issue.input === undefined) return 'Required';
  if (issue.code === 'unrecognized_keys') {
    const keys = issue.keys;
    const more = keys.length > 1 ? ` (and ${(keys.length - 1).toLocaleString('en-US')} more)` : '';
    return `Unrecognized key: ${shown(keys[0])}${more}`;
  }
  return undefined;
}

/** The first problem, then as many of the rest as fit, then how many more: one line, however many there are. */
function summarize(lines: string[]): string {
  if (lines.length === 1) return lines[0];
  const listed: string[] = [];
  let length = 0;
  for (const line of lines.slice(1)) {
    if (length + line.length > MORE_BUDGET) break;
    listed.push(line);
    length += line.length + 2;
  }
  const count = (lines.length - 1).toLocaleString('en-US');
  const rest = listed.length ? `: ${listed.join('; ')}${listed.length < lines.length - 1 ? '; …' : ''}` : '';
  return `${lines[0]} (and ${count} more${rest})`;
}

/**
 * The path of the first string (key or value) holding a NUL character, which
 * PostgreSQL text cannot hold: found here, it is one clear message instead of a
 * driver error from deep inside the catalog checks. Iterative, so no nesting
 * depth can overflow the stack.
 */
function pathOfNul(document: unknown): Array<string | number> | null {
  const stack: Array<{ value: unknown; path: Array<string | number> }> = [{ value: document, path: [] }];
  while (stack.length > 0) {
    const { value, path } = stack.pop()!;
    if (typeof value === 'string') {
      if (value.includes('\0')) return path;
    } else if (Array.isArray(value)) {
      value.forEach((v, i) => stack.push({ value: v, path: [...path, i] }));
    } else if (value && typeof value === 'object') {
      for (const [k, v] of Object.entries(value)) {
        if (k.includes('\0')) return path;
        stack.push({ value: v, path: [...path, k] });
      }
    }
  }
  return null;
}

/** Validates an already-parsed document; the first problem becomes the error line, the rest are counted. */
export function parsePlaybook(document: unknown, source = 'playbook'): Playbook {
  const operations = (document as { operations?: unknown } | null)?.operations;
  if (Array.isArray(operations) && operations.length > PLAYBOOK_LIMITS.operations) {
    throw new InputError(
      `${source}: operations: ${operations.length.toLocaleString('en-US')} operations, more than the ${PLAYBOOK_LIMITS.operations} a playbook may hold; split the change into several playbooks`,
    );
  }
  const nul = pathOfNul(document);
  if (nul) throw new InputError(`${source}: ${printableLine(formatPath(nul), 80)}: contains a NUL character (\\x00), which PostgreSQL text cannot hold`);
  return validated(playbookSchema, document, `${source}: `);
}

/** Settings from flags (`start`, `tune`) merged over a run's: checked by the same schema as a playbook's. */
export function parseSettings(value: unknown): Settings {
  return validated(settingsSchema, value, '', ['settings']);
}

function validated<T>(schema: z.ZodType<T>, value: unknown, lead: string, prefix: PropertyKey[] = []): T {
  const result = schema.safeParse(value, { error: issueMessage });
  if (result.success) return result.data;
  throw new InputError(`${lead}${summarize(result.error.issues.map((issue) => describeIssue(issue, prefix)))}`);
}

export function parsePlaybookText(text: string, source: string): Playbook {
  const json = extname(source).toLowerCase() === '.json';
  let document: unknown;
  try {
    document = json ? JSON.parse(text) : parseYaml(text);
  } catch (err) {
    if (err instanceof YamlError) throw new InputError(`${source}: ${err.message}`);
    // JSON.parse quotes the input around the error: keep it short and printable.
    const reason = printableLine((err instanceof Error ? err.message : String(err)).split('\n')[0], 120);
    throw new InputError(`${source}: not valid JSON: ${reason}`);
  }
  if (document === null || typeof document !== 'object' || Array.isArray(document)) {
    throw new InputError(`${source}: a playbook is a mapping with name, settings and operations`);
  }
  return parsePlaybook(document, source);
}

/** Strict UTF-8: a file that is not text (an image, a binary, a wrong encoding) is refused, not decoded into junk. */
function decodeText(bytes: Buffer, source: string): string {
  if (bytes.length > PLAYBOOK_LIMITS.bytes) {
    throw new InputError(`${source}: larger than the 1 MB a playbook may have (${bytes.length.toLocaleString('en-US')} bytes)`);
  }
  try {
    return new TextDecoder('utf-8', { fatal: true }).decode(bytes);
  } catch {
    throw new InputError(`${source}: not a text file (a playbook is UTF-8 YAML or JSON)`);
  }
}

export async function loadPlaybook(path: string): Promise<Playbook> {
  let bytes: Buffer;
  try {
    bytes = await readFile(path);
  } catch (err) {
    const code = (err as NodeJS.ErrnoException).code;
    throw new InputError(`${path}: cannot read playbook (${code === 'ENOENT' ? 'no such file' : code ?? 'error'})`);
  }
  return parsePlaybookText(decodeText(bytes, path), path);
}

function canonical(value: unknown): unknown {
  if (Array.isArray(value)) return value.map(canonical);
  if (value && typeof value === 'object') {
    return Object.fromEntries(
      Object.keys(value)
        .sort()
        .map((k) => [k, canonical((value as Record<string, unknown>)[k])]),
    );
  }
  return value;
}

/**
 * The checksum covers what the playbook does, not how it is written: comments and
 * key order may change, operations may not. Settings are excluded on purpose:
 * tuning a batch time is not a different migration. The files its operations
 * read (a seed's rows) are part of what it does: `files` gives each one's
 * SHA-256 by the name the playbook gives it.
 */
export function playbookChecksum(playbook: Playbook, files: Record<string, string> = {}): string {
  const body = canonical({ name: playbook.name, operations: playbook.operations, ...(Object.keys(files).length ? { files } : {}) });
  return createHash('sha256').update(JSON.stringify(body)).digest('hex');
}
