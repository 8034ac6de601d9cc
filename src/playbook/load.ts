import { readFile } from 'node:fs/promises';
import { createHash } from 'node:crypto';
import { extname } from 'node:path';
import YAML from 'yaml';
import type { z } from 'zod';
import { InputError } from '../errors.ts';
import { playbookSchema, type Playbook } from './schema.ts';

/** `operations[1].alter_column.up` from zod's path array. */
export function formatPath(path: ReadonlyArray<PropertyKey>): string {
  let out = '';
  for (const part of path) {
    if (typeof part === 'number') out += `[${part}]`;
    else out += (out ? '.' : '') + String(part);
  }
  return out || '(playbook)';
}

function describeIssue(issue: z.core.$ZodIssue): string {
  return `${formatPath(issue.path)}: ${issue.message}`;
}

/** Validates an already-parsed document; the first problem becomes the error line, the rest follow it. */
export function parsePlaybook(document: unknown, source = 'playbook'): Playbook {
  const result = playbookSchema.safeParse(document, {
    error: (issue) => (issue.code === 'invalid_type' && issue.input === undefined ? 'Required' : undefined),
  });
  if (result.success) return result.data;
  const lines = result.error.issues.map(describeIssue);
  const more = lines.length > 1 ? ` (and ${lines.length - 1} more: ${lines.slice(1).join('; ')})` : '';
  throw new InputError(`${source}: ${lines[0]}${more}`);
}

export function parsePlaybookText(text: string, source: string): Playbook {
  let document: unknown;
  try {
    document = extname(source).toLowerCase() === '.json' ? JSON.parse(text) : YAML.parse(text);
  } catch (err) {
    const reason = (err instanceof Error ? err.message : String(err)).split('\n')[0];
    throw new InputError(`${source}: not valid ${extname(source) === '.json' ? 'JSON' : 'YAML'}: ${reason}`);
  }
  if (document === null || typeof document !== 'object' || Array.isArray(document)) {
    throw new InputError(`${source}: a playbook is a mapping with name, settings and operations`);
  }
  return parsePlaybook(document, source);
}

export async function loadPlaybook(path: string): Promise<Playbook> {
  let text: string;
  try {
    text = await readFile(path, 'utf8');
  } catch (err) {
    const code = (err as NodeJS.ErrnoException).code;
    throw new InputError(`${path}: cannot read playbook (${code === 'ENOENT' ? 'no such file' : code ?? 'error'})`);
  }
  return parsePlaybookText(text, path);
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
 * tuning a batch time is not a different migration.
 */
export function playbookChecksum(playbook: Playbook): string {
  const body = canonical({ name: playbook.name, operations: playbook.operations });
  return createHash('sha256').update(JSON.stringify(body)).digest('hex');
}
