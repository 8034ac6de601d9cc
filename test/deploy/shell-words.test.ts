import { describe, expect, it } from 'vitest';
import { bellowsArguments, simpleCommands } from './shell-words.ts';

/** How the deploy test reads the bellows commands of a runbook's ```sh block or a `sh -c` script. */
describe('bellows command lines in shell', () => {
  const script = [
    '# a comment: bellows pause 9',
    'export DATABASE_URL=postgres://db/app BELLOWS_LOG_LEVEL=info',
    'RUN=$(bellows start playbooks/a.yaml --executor bullmq | tail -1)',
    'bellows status "$RUN" --json > status.json 2>&1 && bellows approve "$RUN"',
    'kubectl exec deploy/bellows-dashboard -- bellows pause 1',
    'PGOPTIONS="-c search_path=$(bellows schema-path 1)" psql -U bellows -c \'select 1\'',
    'node src/cli/bin.mjs worker --executor bullmq &   # in the background',
    'bellows tune 1 \\',
    '  --max-rows-per-sec 100',
    'REDIS_URL=redis://r:6379 bellows worker --executor bullmq',
  ].join('\n');
  const commands = simpleCommands(script);
  const found = commands.flatMap((c) => {
    const argv = bellowsArguments(c.words);
    return argv ? [{ line: c.line, argv: argv.join(' '), env: c.assignments.map(([n]) => n) }] : [];
  });

  it('finds each one, in substitutions, after `--` and across continued lines, without quotes or redirections', () => {
    expect(found).toEqual([
      { line: 3, argv: 'start playbooks/a.yaml --executor bullmq', env: [] },
      { line: 4, argv: 'status $RUN --json', env: [] },
      { line: 4, argv: 'approve $RUN', env: [] },
      { line: 5, argv: 'pause 1', env: [] },
      { line: 6, argv: 'schema-path 1', env: [] },
      { line: 7, argv: 'worker --executor bullmq', env: [] },
      { line: 8, argv: 'tune 1 --max-rows-per-sec 100', env: [] },
      { line: 10, argv: 'worker --executor bullmq', env: ['REDIS_URL'] },
    ]);
  });

  it('does not take an argument named bellows for the program', () => {
    expect(commands.find((c) => c.words[0] === 'psql')?.words).toEqual(['psql', '-U', 'bellows', '-c', 'select 1']);
    expect(bellowsArguments(['psql', '-U', 'bellows', '-c', 'select 1'])).toBeNull();
  });
});
