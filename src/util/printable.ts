/**
 * Text from a user or a file, made safe to show in a one-line message: a
 * playbook can hold megabytes, binary junk, terminal escape sequences or
 * right-to-left overrides, and none of that may reach the operator's terminal
 * raw or turn one error line into a screenful.
 */

// Control and format characters (escape sequences, bidi overrides, zero-width
// characters), lone surrogates, unassigned code points, and line separators.
const INVISIBLE = /[\p{C}\u2028\u2029]/gu;

function escapeInvisible(text: string): string {
  return text.replace(INVISIBLE, (c) => {
    const code = c.codePointAt(0)!;
    return code < 0x100 ? `\\x${code.toString(16).padStart(2, '0')}` : `\\u{${code.toString(16)}}`;
  });
}

/** At most `max` characters (code points, so an emoji is never cut in half), with … when cut. */
function truncate(text: string, max: number): string {
  const chars = [...text];
  return chars.length <= max ? text : `${chars.slice(0, max - 1).join('')}…`;
}

/** A value in quotes, as a message may show it: invisible characters escaped, at most `max` characters of it. */
export function shown(value: unknown, max = 40): string {
  const text = typeof value === 'string' ? value : String(value);
  const cut = [...text].length > max;
  const head = cut ? [...text].slice(0, max).join('') : text;
  return `"${escapeInvisible(head.replaceAll('\\', '\\\\').replaceAll('"', '\\"'))}${cut ? '…' : ''}"`;
}

/** Any message as one line of at most `max` characters: line breaks become spaces, the rest as `shown` escapes it. */
export function printableLine(text: string, max = 300): string {
  return truncate(escapeInvisible(text.replace(/\s*[\r\n]+\s*/g, ' ').trim()), max);
}
