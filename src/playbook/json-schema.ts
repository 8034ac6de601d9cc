import { z } from 'zod';
import { playbookSchema } from './schema.ts';

/** The JSON Schema editors use to complete and check playbooks (see playbooks/playbook.schema.json). */
export function playbookJsonSchema(): Record<string, unknown> {
  return {
    ...z.toJSONSchema(playbookSchema, { io: 'input' }),
    $id: 'https://bellows.dev/playbook.schema.json',
    title: 'bellows playbook',
  };
}
