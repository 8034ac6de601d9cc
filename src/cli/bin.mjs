#!/usr/bin/env node
// The installed entry point: loads the TypeScript sources through tsx, then runs the CLI.
import { register } from 'tsx/esm/api';

register();
const { main } = await import('./main.ts');
const code = await main(process.argv);
// tsx's loader resets process.exitCode when the event loop drains, so exit explicitly,
// once stdout and stderr have flushed.
process.stdout.write('', () => process.stderr.write('', () => process.exit(code)));
