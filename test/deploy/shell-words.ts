/**
 * Just enough of the POSIX shell to find the bellows command lines in a deploy file's
 * `sh -c` script or a runbook's ```sh block: words with their quotes removed, simple
 * commands split at newlines, `;`, `&`, `|`, `&&`, `||` and parentheses, comments dropped,
 * redirections dropped, `$( … )` read as commands of its own. No expansion: `$RUN` stays `$RUN`.
 */

export interface SimpleCommand {
  /** `NAME=value` words before the command name: the environment of that one command. */
  assignments: Array<[name: string, value: string]>;
  words: string[];
  /** 1-based line of the script where the command starts. */
  line: number;
}

const SEPARATORS = new Set(['\n', ';', '&', '|', '(', ')']);
const ASSIGNMENT = /^([A-Za-z_][A-Za-z0-9_]*)=(.*)$/s;

export function simpleCommands(script: string): SimpleCommand[] {
  const found: SimpleCommand[] = [];
  let words: string[] = [];
  let word: string | null = null;
  let line = 1;
  let start = 1;
  const endWord = () => {
    if (word !== null) words.push(word);
    word = null;
  };
  const endCommand = () => {
    endWord();
    if (words.length) found.push(toCommand(words, start));
    words = [];
  };
  let i = 0;
  while (i < script.length) {
    const c = script[i];
    if (words.length === 0 && word === null) start = line;
    if (c === '\\' && script[i + 1] === '\n') {
      i += 2;
      line++;
    } else if (c === '\\') {
      word = (word ?? '') + (script[i + 1] ?? '');
      i += 2;
    } else if (c === "'") {
      const end = closing(script, i, "'");
      word = (word ?? '') + script.slice(i + 1, end);
      line += newlines(script.slice(i, end));
      i = end + 1;
    } else if (c === '"') {
      const end = closing(script, i, '"');
      const quoted = script.slice(i + 1, end);
      found.push(...substitutions(quoted).map((cmd) => ({ ...cmd, line: cmd.line + line - 1 })));
      word = (word ?? '') + quoted.replace(/\\([$`"\\\n])/g, '$1');
      line += newlines(script.slice(i, end));
      i = end + 1;
    } else if (c === '$' && script[i + 1] === '(') {
      // A command substitution is a command too: `RUN=$(bellows start … )` starts a run.
      const end = matchingParen(script, i + 1);
      found.push(...simpleCommands(script.slice(i + 2, end)).map((cmd) => ({ ...cmd, line: cmd.line + line - 1 })));
      word = (word ?? '') + '$(…)';
      line += newlines(script.slice(i, end));
      i = end + 1;
    } else if (c === '#' && word === null) {
      while (i < script.length && script[i] !== '\n') i++;
    } else if (c === ' ' || c === '\t' || c === '\r') {
      endWord();
      i++;
    } else if (c === '&' && (/[<>]$/.test(word ?? '') || script[i + 1] === '>')) {
      // `2>&1`, `&>log`: a redirection, not a background command.
      word = (word ?? '') + c;
      i++;
    } else if (SEPARATORS.has(c)) {
      endCommand();
      if (c === '\n') line++;
      i++;
    } else {
      word = (word ?? '') + c;
      i++;
    }
  }
  endCommand();
  return found;
}

function toCommand(all: string[], line: number): SimpleCommand {
  const words = withoutRedirections(all);
  const assignments: Array<[string, string]> = [];
  while (words.length && ASSIGNMENT.test(words[0])) {
    const [, name, value] = ASSIGNMENT.exec(words.shift()!)!;
    assignments.push([name, value]);
  }
  return { assignments, words, line };
}

/** `> file`, `2>&1`, `<input`, `>>log`: not arguments of the command. */
function withoutRedirections(words: string[]): string[] {
  const kept: string[] = [];
  for (let i = 0; i < words.length; i++) {
    const redirection = /^(\d*|&)(>>?|<)(&\d+|&-)?(.*)$/s.exec(words[i]);
    if (!redirection) {
      kept.push(words[i]);
      continue;
    }
    if (!redirection[3] && redirection[4] === '') i++; // the target is the next word
  }
  return kept;
}

/** The commands of each `$( … )` inside a double-quoted string: `"$(bellows schema-path 1)"`. */
function substitutions(quoted: string): SimpleCommand[] {
  const found: SimpleCommand[] = [];
  for (let i = quoted.indexOf('$('); i >= 0; i = quoted.indexOf('$(', i + 1)) {
    const end = matchingParen(quoted, i + 1);
    found.push(...simpleCommands(quoted.slice(i + 2, end)).map((cmd) => ({ ...cmd, line: cmd.line + newlines(quoted.slice(0, i)) })));
    i = end;
  }
  return found;
}

function closing(text: string, open: number, quote: string): number {
  for (let i = open + 1; i < text.length; i++) {
    if (quote === '"' && text[i] === '\\') i++;
    else if (text[i] === quote) return i;
  }
  throw new Error(`unterminated ${quote} in: ${text.slice(open, open + 80)}`);
}

function matchingParen(text: string, open: number): number {
  let depth = 0;
  for (let i = open; i < text.length; i++) {
    if (text[i] === "'" || text[i] === '"') i = closing(text, i, text[i]);
    else if (text[i] === '(') depth++;
    else if (text[i] === ')' && --depth === 0) return i;
  }
  throw new Error(`unterminated $( in: ${text.slice(open, open + 80)}`);
}

function newlines(text: string): number {
  return text.split('\n').length - 1;
}

/** How a deploy file or a runbook calls the program: `bellows …`, `node src/cli/bin.mjs …`, `npx bellows …`. */
const WRAPPERS = new Set(['exec', 'npx', 'env', 'nohup', 'time', 'sudo']);

/**
 * The arguments of the bellows command these words run, or null when they run something
 * else. The program may follow wrappers (`exec bellows …`) or a lone `--` (`kubectl exec pod --
 * bellows status`).
 */
export function bellowsArguments(words: readonly string[]): string[] | null {
  let i = 0;
  while (i < words.length && (WRAPPERS.has(words[i]) || ASSIGNMENT.test(words[i]))) i++;
  const at = programLength(words, i);
  if (at) return words.slice(i + at);
  const dashes = words.indexOf('--');
  if (dashes >= 0) return bellowsArguments(words.slice(dashes + 1));
  return null;
}

/** How many words name the program at `i`: 1 for `bellows`, 2 for `node …/bin.mjs`, else 0. */
function programLength(words: readonly string[], i: number): number {
  const base = (w: string | undefined) => (w ?? '').split('/').pop();
  if (base(words[i]) === 'bellows' || base(words[i]) === 'bin.mjs') return 1;
  if (base(words[i]) === 'node' && base(words[i + 1]) === 'bin.mjs') return 2;
  return 0;
}
