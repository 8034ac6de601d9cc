/**
 * The commands of a runbook, as the operator types them: every line of every
 * ```sh block of deploy/runbooks/*.md, with what the runbook says to look for.
 *
 * In a ```sh block:
 * - a line is one command; a line ending in `\` goes on on the next one;
 * - a command ending in ` &` runs in the background until the runbook ends;
 * - `# expect: TEXT` after a command: its output (stdout and stderr) shows TEXT;
 * - `# wait for: TEXT` after a command: run it again until it exits as it should
 *   and its output shows TEXT;
 * - `# exit: N` after a command: it fails on purpose, with exit code N (else 0);
 * - any other `#` line is a comment for the reader.
 * TEXT may name placeholders ($RUN, $PID…), which are replaced as in the command.
 * Other fenced blocks may only be `text` (output shown to the reader): a command
 * in a block the test does not run would be a command nobody checks.
 */
export interface RunbookStep {
  /** Where the command starts, for messages: `start.md:42`. */
  where: string;
  command: string;
  background: boolean;
  exit: number;
  expect: string[];
  waitFor: string | null;
}

const DIRECTIVE = /^#\s*([a-z][a-z ]*?)\s*:\s*(.*)$/;

export function parseRunbook(name: string, markdown: string): RunbookStep[] {
  const steps: RunbookStep[] = [];
  const lines = markdown.split('\n');
  let fence: string | null = null;
  let pending = '';
  let pendingLine = 0;
  const fail = (line: number, message: string): never => {
    throw new Error(`${name}:${line}: ${message}`);
  };

  for (const [index, raw] of lines.entries()) {
    const lineNo = index + 1;
    const opening = /^```(.*)$/.exec(raw.trim());
    if (fence === null) {
      if (!opening) continue;
      fence = opening[1].trim();
      if (fence !== 'sh' && fence !== 'text') fail(lineNo, `a \`\`\`${fence} block: commands go in \`\`\`sh blocks, output in \`\`\`text blocks`);
      continue;
    }
    if (opening) {
      if (pending) fail(pendingLine, 'the block ends inside a command continued with \\');
      fence = null;
      continue;
    }
    if (fence !== 'sh') continue;

    const line = raw.trim();
    if (pending) {
      pending += '\n' + raw;
      if (!line.endsWith('\\')) {
        steps.push(step(name, pendingLine, pending));
        pending = '';
      }
      continue;
    }
    if (line === '') continue;
    if (line.startsWith('#')) {
      const directive = DIRECTIVE.exec(line);
      if (!directive) continue;
      const [, key, value] = directive;
      const last = steps.at(-1);
      if (!last) fail(lineNo, `"# ${key}:" before any command`);
      if (key === 'expect') last!.expect.push(value);
      else if (key === 'wait for') last!.waitFor = value;
      else if (key === 'exit') {
        if (!/^\d+$/.test(value)) fail(lineNo, `"# exit:" takes an exit code, not "${value}"`);
        last!.exit = Number(value);
      } else fail(lineNo, `unknown directive "# ${key}:" (expect, wait for, exit)`);
      continue;
    }
    if (line.endsWith('\\')) {
      pending = raw;
      pendingLine = lineNo;
      continue;
    }
    steps.push(step(name, lineNo, raw));
  }
  if (fence !== null) fail(lines.length, 'a fenced block is not closed');
  for (const s of steps) {
    if (s.background && (s.expect.length > 0 || s.waitFor || s.exit !== 0)) fail(Number(s.where.split(':')[1]), 'a background command has no output or exit code to check');
  }
  return steps;
}

function step(name: string, line: number, text: string): RunbookStep {
  const trimmed = text.trim();
  const background = /\s&$/.test(trimmed);
  return {
    where: `${name}:${line}`,
    command: background ? trimmed.replace(/\s*&$/, '') : trimmed,
    background,
    exit: 0,
    expect: [],
    waitFor: null,
  };
}
