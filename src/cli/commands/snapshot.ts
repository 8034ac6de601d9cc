import { writeFile } from 'node:fs/promises';
import type { Command } from 'commander';
import { currentSnapshot } from '../../generate/index.ts';
import { withDatabase } from '../context.ts';
import { print, warn } from '../output.ts';

export function snapshotCommand(program: Command): void {
  program
    .command('snapshot')
    .description("print the live schema's normalized snapshot as JSON (what drift and diff compare): e.g. the desired schema for bellows generate on another database")
    .option('--output <file>', 'write it here instead of stdout')
    .action(async (options, cmd: Command) => {
      // Read only: a database bellows never touched gets no state from a snapshot.
      const snapshot = await withDatabase(cmd.optsWithGlobals(), (ctx) => currentSnapshot(ctx.store, 'snapshot'), { migrate: false, poolSize: 2 });
      const text = JSON.stringify(snapshot, null, 2) + '\n';
      if (options.output) {
        await writeFile(options.output, text);
        warn(`snapshot: wrote ${options.output}: ${snapshot.objects.length} objects`);
      } else print(text.trimEnd());
    });
}
