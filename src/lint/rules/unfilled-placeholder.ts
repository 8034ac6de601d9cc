import { PLACEHOLDER, hasPlaceholder } from '../../generate/placeholder.ts';
import { defineRule } from '../rule.ts';

/**
 * `bellows generate` cannot know how an old value becomes a new one (a type
 * change, NULLs under a new NOT NULL): it writes a placeholder there, and this
 * rule keeps the playbook from passing review until a person has written it.
 */
export const unfilledPlaceholder = defineRule({
  id: 'unfilled-placeholder',
  severity: 'error',
  description: `a value bellows generate left as ${PLACEHOLDER} for a person to write`,
  check({ statement }) {
    if (!hasPlaceholder(statement.text)) return [];
    return [
      {
        message: `${PLACEHOLDER} is a placeholder bellows generate left here: it cannot know how the old value becomes the new one`,
        safe: 'write the value transform (e.g. up: price::numeric, down: price::text), or the value NULLs get (e.g. coalesce(plan, \'free\'))',
      },
    ];
  },
});
