import { readdirSync, readFileSync } from 'node:fs';
import { join, relative } from 'node:path';

/**
 * The environment variables bellows reads in its own code rather than through a commander
 * option's `.env()` (those come from the program itself, see cli-check.ts). The deploy test
 * holds the deploy files to these; `envReadsInSource` holds this list to the source, both ways.
 */
export const DIRECT_ENV: Record<string, string> = {
  BELLOWS_DEBUG: 'src/cli/main.ts: an unexpected error shows its stack',
  BELLOWS_LOG_LEVEL: 'src/log.ts, the Temporal worker: log level (default warn)',
  BELLOWS_LOG_FILE: 'src/log.ts: a command writes its JSON log there',
  BELLOWS_LOG_JSON: 'src/log.ts: JSON log lines even on a terminal',
  BELLOWS_WORKFLOW_BUNDLE: 'Temporal worker: a prebuilt workflow bundle (deploy/Dockerfile builds one)',
  BELLOWS_BULLMQ_LOCK_MS: 'BullMQ: how long a dead worker keeps its job',
  BELLOWS_TEMPORAL_HEARTBEAT_TIMEOUT_MS: 'Temporal: activity heartbeat timeout',
  BELLOWS_TEMPORAL_SLICE_MS: 'Temporal: how long a workflow waits before it continues as new',
  BELLOWS_TEMPORAL_HISTORY_LIMIT: 'Temporal: history length that makes a workflow continue as new',
  BELLOWS_TEMPORAL_STICKY_TIMEOUT_MS: 'Temporal worker: sticky queue timeout',
  TEMPORAL_TLS: 'Temporal: "true" turns TLS on without client certificates',
  BELLOWS_REPLICA_PASSWORD: 'replica-lag throttle: the password of a stored --replica-url',
  BELLOWS_TOKEN: 'bellows serve: the bearer token of the write actions (never a flag)',
  PGPASSWORD: 'libpq and pg: a password kept out of URLs; dry-run hands the target password to pg_dump and psql this way',
  PGOPTIONS: 'libpq and pg: session options; dry-run makes pg_dump read-only through it',
};

const SOURCE_ROOTS = ['src', 'workflows'];

/**
 * Every environment variable the code names: `process.env.X` and `env.X` (a settings function's
 * `env = process.env` parameter), `env['X']`, and a name kept in a constant called `…_ENV` for a
 * computed read (`process.env[REPLICA_PASSWORD_ENV]`). Returns each name with the files naming it.
 */
export function envReadsInSource(repo: string): Map<string, string[]> {
  const patterns = [
    /\benv\.([A-Z][A-Z0-9_]*)\b/g,
    /\benv\[\s*(?:'|"|`)([A-Z][A-Z0-9_]*)(?:'|"|`)\s*\]/g,
    /\b[A-Z][A-Z0-9_]*_ENV\s*=\s*(?:'|"|`)([A-Z][A-Z0-9_]*)(?:'|"|`)/g,
  ];
  const found = new Map<string, string[]>();
  for (const file of SOURCE_ROOTS.flatMap((root) => sourceFiles(join(repo, root)))) {
    const text = readFileSync(file, 'utf8');
    for (const pattern of patterns) {
      for (const [, name] of text.matchAll(pattern)) {
        const files = found.get(name) ?? [];
        if (!files.includes(relative(repo, file))) files.push(relative(repo, file));
        found.set(name, files);
      }
    }
  }
  return found;
}

function sourceFiles(dir: string): string[] {
  return readdirSync(dir, { withFileTypes: true }).flatMap((entry) => {
    const path = join(dir, entry.name);
    if (entry.isDirectory()) return sourceFiles(path);
    return /\.(ts|mts|mjs|js)$/.test(entry.name) ? [path] : [];
  });
}
