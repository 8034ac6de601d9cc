import { createReadStream } from 'node:fs';
import { realpath } from 'node:fs/promises';
import { createHash } from 'node:crypto';
import { createInterface } from 'node:readline';
import { isAbsolute, relative, resolve } from 'node:path';
import { InputError } from '../errors.ts';
import { printableLine, shown } from '../util/printable.ts';

/**
 * Seed rows from a file next to the playbook, in JSON Lines: one JSON object
 * per line, its values as a playbook's inline `rows` give them. JSON rather
 * than CSV: it tells null from an empty string and a number from text without
 * a convention, and a value may hold any character (a comma, a quote, a line
 * break) while each row stays on one line. So the file is read line by line,
 * each line checked and reported by its number, and only one chunk of rows is
 * ever in memory, however large the file.
 */

export type SeedValue = string | number | boolean | null;

/** One row of the file: its line number (from 1) and its values by column. */
export interface SeedLine {
  line: number;
  values: Record<string, SeedValue>;
}

/** A JSON value as the text of a SQL literal: PostgreSQL reads it as the column's type. */
export function asText(v: SeedValue): string | null {
  return v === null ? null : String(v);
}

/** Rows per chunk: enough for one statement to carry, few enough to keep memory flat. */
export const SEED_CHUNK_ROWS = 1000;

/**
 * The file a seed names, resolved against the playbook's directory: refused if
 * it is missing, or outside that directory (a `..`, an absolute path, or a
 * symbolic link that leads out), so a playbook under review names only files
 * reviewed with it.
 */
export async function seedFilePath(directory: string | null, file: string, at: string): Promise<string> {
  if (directory === null) throw new InputError(`${at}: a seed file is found next to its playbook, and this playbook was not read from a file`);
  const outside = (path: string, base: string) => {
    const rel = relative(base, path);
    return rel === '' || rel.startsWith('..') || isAbsolute(rel);
  };
  const path = resolve(directory, file);
  if (isAbsolute(file) || outside(path, directory)) throw new InputError(printableLine(`${at}: ${shown(file, 80)} is outside the playbook's directory; give a path relative to it, inside it`));
  let real: string;
  try {
    real = await realpath(path);
  } catch (err) {
    const code = (err as NodeJS.ErrnoException).code;
    throw new InputError(printableLine(`${at}: cannot read ${shown(file, 80)} (${code === 'ENOENT' ? 'no such file' : code ?? 'error'})`));
  }
  if (outside(real, await realpath(directory))) throw new InputError(printableLine(`${at}: ${shown(file, 80)} leads outside the playbook's directory`));
  return real;
}

/**
 * Reads a seed file: its rows, in chunks, then (once they are all read) the
 * SHA-256 of its bytes. A line that is not a JSON object of plain values is
 * refused with its number; blank lines are skipped.
 */
export function openSeedFile(path: string, at: string) {
  const hash = createHash('sha256');
  let digest: string | null = null;
  return {
    async *chunks(size = SEED_CHUNK_ROWS): AsyncGenerator<SeedLine[]> {
      const stream = createReadStream(path);
      stream.on('data', (bytes) => hash.update(bytes));
      const lines = createInterface({ input: stream, crlfDelay: Infinity });
      let chunk: SeedLine[] = [];
      let line = 0;
      try {
        for await (const text of lines) {
          line++;
          if (text.trim() === '') continue;
          chunk.push({ line, values: parseLine(text, `${at}: line ${line}`) });
          if (chunk.length >= size) {
            yield chunk;
            chunk = [];
          }
        }
        if (chunk.length) yield chunk;
        digest = hash.digest('hex');
      } finally {
        lines.close();
        stream.destroy();
      }
    },
    /** The file's SHA-256, once `chunks` has read it all. */
    digest(): string {
      if (digest === null) throw new Error(`seed file ${path} is not read to its end`);
      return digest;
    },
  };
}

/** The SHA-256 of a file, read as a stream. */
export async function fileDigest(path: string): Promise<string> {
  const hash = createHash('sha256');
  for await (const bytes of createReadStream(path)) hash.update(bytes as Buffer);
  return hash.digest('hex');
}

function parseLine(text: string, at: string): Record<string, SeedValue> {
  let value: unknown;
  try {
    value = JSON.parse(text);
  } catch (err) {
    throw new InputError(printableLine(`${at}: not valid JSON: ${(err as Error).message}`, 200));
  }
  if (value === null || typeof value !== 'object' || Array.isArray(value)) throw new InputError(`${at}: not a JSON object (one row per line, e.g. {"code": "fr", "name": "France"})`);
  for (const [column, v] of Object.entries(value)) {
    if (v !== null && typeof v === 'object') throw new InputError(printableLine(`${at}: ${shown(column)} is ${Array.isArray(v) ? 'an array' : 'an object'}; a value is a string, a number, a boolean or null`));
  }
  return value as Record<string, SeedValue>;
}
