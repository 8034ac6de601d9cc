import { Option, type Command } from 'commander';

/** Each flag and the environment variable it stands for: the executor reads only the environment. */
const FLAGS = [
  ['--redis-url <url>', 'Redis for --executor bullmq (default redis://127.0.0.1:6379)', 'REDIS_URL'],
  ['--temporal-address <host:port>', 'Temporal frontend address', 'TEMPORAL_ADDRESS'],
  ['--temporal-namespace <name>', 'Temporal namespace', 'TEMPORAL_NAMESPACE'],
  ['--temporal-task-queue <name>', 'task queue (default: one per target database)', 'TEMPORAL_TASK_QUEUE'],
  ['--temporal-tls-cert <file>', 'client certificate (PEM) for mTLS', 'TEMPORAL_TLS_CERT'],
  ['--temporal-tls-key <file>', 'client key (PEM) for mTLS', 'TEMPORAL_TLS_KEY'],
  ['--temporal-tls-ca <file>', 'CA certificate (PEM) of the Temporal server', 'TEMPORAL_TLS_CA'],
  ['--temporal-tls-server-name <name>', 'TLS server name override', 'TEMPORAL_TLS_SERVER_NAME'],
] as const;

/**
 * Executor connection flags (Redis, Temporal) for every command (start, worker, and the operator
 * commands that signal a run). A flag is exported to its environment variable
 * before the command runs, so deep code (createExecutor) has one source to read
 * and the flags need not be threaded through every command's context.
 */
export function addExecutorFlags(program: Command): Command {
  for (const [flags, description, env] of FLAGS) {
    const group = env === 'REDIS_URL' ? 'BullMQ (--executor bullmq):' : 'Temporal (--executor temporal):';
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
