import { spawn } from 'node:child_process';
import { redactText } from '../db/redact.ts';
import { EnvironmentError } from '../errors.ts';

/**
 * Runs a PostgreSQL client program (pg_dump, psql) against `url`. The password
 * goes in PGPASSWORD, not in the arguments, where `ps` would show it to every
 * user of the machine. `readOnly` makes every session the program opens
 * read-only, whatever the program itself does.
 */
export async function runClientTool(
  program: string,
  args: string[],
  url: string,
  { input, readOnly = false }: { input?: string; readOnly?: boolean } = {},
): Promise<string> {
  const u = new URL(url);
  const password = u.searchParams.get('password') ?? decodeURIComponent(u.password);
  u.password = '';
  u.searchParams.delete('password');
  const env: NodeJS.ProcessEnv = { ...process.env, PGPASSWORD: password || process.env.PGPASSWORD, PGAPPNAME: 'bellows dry-run' };
  if (readOnly) env.PGOPTIONS = '-c default_transaction_read_only=on';
  else delete env.PGOPTIONS;
  return new Promise((resolve, reject) => {
    const child = spawn(program, [...args, `--dbname=${u.toString()}`], { env, stdio: ['pipe', 'pipe', 'pipe'] });
    let stdout = '';
    let stderr = '';
    child.stdout.setEncoding('utf8').on('data', (d: string) => (stdout += d));
    child.stderr.setEncoding('utf8').on('data', (d: string) => (stderr += d));
    child.on('error', (err) => reject(new EnvironmentError(`cannot run ${program}: ${err.message}; the dry run needs the PostgreSQL client programs on PATH`)));
    child.on('close', (code) => {
      if (code === 0) return resolve(stdout);
      const first = stderr.split('\n').find((l) => l.trim() !== '') ?? `exit ${code}`;
      reject(new EnvironmentError(`${program} failed: ${redactText(first)}`));
    });
    child.stdin.on('error', () => {}); // a program that died early is reported by its exit code
    child.stdin.end(input ?? '');
  });
}
