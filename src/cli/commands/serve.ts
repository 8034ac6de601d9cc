import { Option, type Command } from 'commander';
import { createLogger } from '../../log.ts';
import { DEFAULT_LISTEN, parseListen } from '../../serve/listen.ts';
import { startServer } from '../../serve/server.ts';
import { chooseTargets, parseTargetFlag, readTargetsFile, type TargetConfig } from '../../serve/targets-config.ts';
import { redactText } from '../../db/redact.ts';
import { printableLine } from '../../util/printable.ts';
import { print } from '../output.ts';

export function serveCommand(program: Command): void {
  program
    .command('serve')
    .description('the dashboard and its JSON API over the runs of one or more databases, until SIGINT or SIGTERM; write actions need BELLOWS_TOKEN')
    .addOption(new Option('--listen <host:port>', 'address to listen on (loopback unless told otherwise)').env('BELLOWS_LISTEN').default(parseListen(DEFAULT_LISTEN), DEFAULT_LISTEN).argParser(parseListen))
    .addOption(new Option('--target <name=url>', 'a database to serve, by name (repeatable); url may be env:VAR; default: --database-url as "default"').argParser(collectTarget).default([]))
    .addOption(new Option('--config <file>', 'YAML or JSON: { targets: [ { name, url } ] }, url may be env:VAR'))
    .action(async (options: { listen: ReturnType<typeof parseListen>; target: TargetConfig[]; config?: string }, cmd: Command) => {
      const globals = cmd.optsWithGlobals();
      const fromFile = options.config ? await readTargetsFile(options.config) : [];
      const targets = chooseTargets(options.target, fromFile, globals.databaseUrl ?? process.env.DATABASE_URL);
      // An empty BELLOWS_TOKEN is no token: read-only, not a server anyone can write to with an empty bearer.
      const token = process.env.BELLOWS_TOKEN || undefined;
      const say = (line: string) => print(printableLine(redactText(line), 500));
      const server = await startServer({ listen: options.listen, targets, stateSchema: globals.stateSchema, token, say, log: createLogger() });
      say(`bellows serve: listening on ${server.url} for ${targets.map((t) => t.name).join(', ')}; ${token ? 'write actions need the bearer token' : 'read-only (no BELLOWS_TOKEN)'}`);
      const signal = await new Promise<NodeJS.Signals>((resolve) => {
        // A second signal while it closes is left to its default action: the operator means it.
        const onSignal = (received: NodeJS.Signals) => {
          process.off('SIGINT', onSignal);
          process.off('SIGTERM', onSignal);
          resolve(received);
        };
        process.on('SIGINT', onSignal);
        process.on('SIGTERM', onSignal);
      });
      say(`${signal}: stopping; background drives stop at their next checkpoint`);
      await server.close();
      say('bellows serve stopped');
    });
}

function collectTarget(value: string, previous: TargetConfig[]): TargetConfig[] {
  return [...previous, parseTargetFlag(value)];
}
