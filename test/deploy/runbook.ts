import type { DeployFiles } from './deploy-model.ts';
import { bellowsArguments, simpleCommands } from './shell-words.ts';

/** Shell blocks of a Markdown file: ```sh, ```bash, ```shell, ```console (with `$ ` prompts). */
export function shellBlocks(markdown: string): Array<{ line: number; text: string }> {
  const blocks: Array<{ line: number; text: string }> = [];
  const lines = markdown.split('\n');
  for (let i = 0; i < lines.length; i++) {
    const open = /^(\s*)(`{3,}|~{3,})\s*(sh|bash|shell|console|zsh)\b/.exec(lines[i]);
    if (!open) continue;
    const [, indent, fence] = open;
    const body: string[] = [];
    let j = i + 1;
    while (j < lines.length && !lines[j].trimStart().startsWith(fence)) body.push(lines[j++].slice(indent.length).replace(/^\$ /, ''));
    blocks.push({ line: i + 2, text: body.join('\n') });
    i = j;
  }
  return blocks;
}

/**
 * A runbook's placeholders stand for values the operator sets ($RUN stays as it is); those
 * that flags check the form of get a sample of that form here. test/runbooks/ runs the
 * runbooks with real ones.
 */
const SAMPLES: Record<string, string> = {
  DATABASE_URL: 'postgres://db.example/app',
  REPLICA_URL: 'postgres://replica.example/app',
  REDIS_URL: 'redis://redis.example:6379',
  TEMPORAL_ADDRESS: 'temporal.example:7233',
};

function withSample(word: string): string {
  return word.replace(/^\$\{?([A-Z_]+)\}?$/, (whole, name: string) => SAMPLES[name] ?? whole);
}

/** A Markdown runbook: the bellows commands of its shell blocks, and the BELLOWS_ variables it exports. */
export function readRunbook(text: string, file: string, out: DeployFiles): void {
  for (const block of shellBlocks(text)) {
    for (const cmd of simpleCommands(block.text)) {
      const where = `line ${block.line + cmd.line - 1}`;
      const argv = bellowsArguments(cmd.words)?.map(withSample);
      if (argv) {
        out.processes.push({ file, where, argv, env: new Map(cmd.assignments), inContainer: false, ports: [], probes: [] });
        continue;
      }
      // `export BELLOWS_…=` or a bare assignment: set for the bellows commands that follow.
      const assigned = cmd.words[0] === 'export' ? cmd.words.slice(1).map((w) => w.split('=')[0]) : cmd.words.length === 0 ? cmd.assignments.map(([n]) => n) : [];
      for (const name of assigned.filter((n) => n.startsWith('BELLOWS_'))) out.env.push({ file, where, name });
    }
  }
}
