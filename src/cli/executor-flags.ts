import { Option, type Command } from 'commander';

const BULLMQ = 'BullMQ (--executor bullmq):';
const TEMPORAL = 'Temporal (--executor temporal):';

/** Each flag, the environment variable it stands for (the executor reads only the environment), and its help group. */
const FLAGS = [
  ['--redis-url <url>', 'Redis for --executor bullmq (default redis://127.0.0.1:6379)', 'REDIS_URL', BULLMQ],
  ['--temporal-address <host:port>', 'Temporal frontend address', 'TEMPORAL_ADDRESS', TEMPORAL],
  ['--temporal-namespace <name>', 'Temporal namespace', 'TEMPORAL_NAMESPACE', TEMPORAL],
  ['--temporal-task-queue <name>', 'task queue (default: one per target database)', 'TEMPORAL_TASK_QUEUE', TEMPORAL],
  ['--temporal-tls-cert <file>', 'client certificate (PEM) for mTLS', 'TEMPORAL_TLS_CERT', TEMPORAL],
  ['--temporal-tls-key <file>', 'client key (PEM) for mTLS', 'TEMPORAL_TLS_KEY', TEMPORAL],
  ['--temporal-tls-ca <file>', 'CA certificate (PEM) of the Temporal server', 'TEMPORAL_TLS_CA', TEMPORAL],
  ['--temporal-tls-server-name <name>', 'TLS server name override', 'TEMPORAL_TLS_SERVER_NAME', TEMPORAL],
] as const;

/**
 * Executor connection flags (Redis, Temporal) for every command (start, worker, and the operator
 * commands that signal a run). A flag is exported to its environment variable
 * before the command runs, so deep code (createExecutor) has one source to read
 * and the flags need not be threaded through every command's context.
 */
export function addExecutorFlags(program: Command): Command {
  for (const [flags, description, env, group] of FLAGS) {
    program.addOption(new Option(flags, description).env(env).helpGroup(group));
  }
  program.hook('preAction', (_program, command) => {
    const options = command.optsWithGlobals() as Record<string, string | undefined>;
    for (const [flags, , env] of FLAGS) {
      const key = flags.split(' ')[0].replace(/^--/, '').replace(/-([a-z])/g, (_, c: string) => c.toUpperCase());
      if (options[key]) process.env[env] = options[key];
    }
  });
  return program;
}
