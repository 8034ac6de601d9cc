import { z } from 'zod';
import { playbookSchema } from './schema.ts';

/** The JSON Schema editors use to complete and check playbooks (see playbooks/playbook.schema.json). */
export function playbookJsonSchema(): Record<string, unknown> {
  const schema = z.toJSONSchema(playbookSchema, { io: 'input' }) as unknown as { properties: { operations: { items: Record<string, unknown> } } };
  // zod's "exactly one operation per entry" is a refinement, which JSON Schema cannot see; say it in its own terms.
  Object.assign(schema.properties.operations.items, { minProperties: 1, maxProperties: 1 });
  return { ...schema, $id: 'https://bellows.dev/playbook.schema.json', title: 'bellows playbook' };
}
