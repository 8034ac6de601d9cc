import type { Command } from 'commander';
import { playbookJsonSchema } from '../../playbook/json-schema.ts';
import { printJson } from '../output.ts';

export function schemaCommand(program: Command): void {
  program
    .command('schema')
    .description('print the JSON Schema of playbooks, for editors')
    .action(() => printJson(playbookJsonSchema()));
}
