/**
 * Results as tables, rendered twice: aligned text for the terminal and Markdown
 * for the README. Every target is shown next to the figure it judges.
 */
export type Cell = string | number | null;

export interface Table {
  title: string;
  headers: string[];
  rows: Cell[][];
  notes?: string[];
}

export function verdict(ok: boolean | null): string {
  return ok === null ? 'n/a' : ok ? 'PASS' : 'MISS';
}

export function num(value: number | null | undefined, digits = 0): string {
  if (value === null || value === undefined || !Number.isFinite(value)) return '–';
  return value.toLocaleString('en-US', { minimumFractionDigits: digits, maximumFractionDigits: digits });
}

export function ratio(value: number | null | undefined): string {
  return value === null || value === undefined || !Number.isFinite(value) ? '–' : value.toFixed(2);
}

export function seconds(ms: number | null | undefined): string {
  return ms === null || ms === undefined || !Number.isFinite(ms) ? '–' : `${(ms / 1000).toFixed(2)} s`;
}

export function millis(ms: number | null | undefined, digits = 1): string {
  return ms === null || ms === undefined || !Number.isFinite(ms) ? '–' : `${ms.toFixed(digits)} ms`;
}

export function mib(kb: number | null | undefined): string {
  return kb === null || kb === undefined || !Number.isFinite(kb) ? '–' : `${(kb / 1024).toFixed(1)} MiB`;
}

function text(cell: Cell): string {
  return cell === null ? '–' : String(cell);
}

export function renderText(table: Table): string {
  const cells = [table.headers, ...table.rows.map((r) => r.map(text))];
  const widths = table.headers.map((_, i) => Math.max(...cells.map((r) => (r[i] ?? '').length)));
  const line = (r: string[]) => r.map((c, i) => (i === 0 ? c.padEnd(widths[i]) : c.padStart(widths[i]))).join('  ');
  const out = [`\n== ${table.title} ==`, line(table.headers), widths.map((w) => '-'.repeat(w)).join('  '), ...table.rows.map((r) => line(r.map(text)))];
  for (const note of table.notes ?? []) out.push(`  * ${note}`);
  return out.join('\n');
}

export function renderMarkdown(table: Table): string {
  const esc = (c: string) => c.replace(/\|/g, '\\|');
  const out = [
    `#### ${table.title}`,
    '',
    `| ${table.headers.map(esc).join(' | ')} |`,
    `|${table.headers.map((_, i) => (i === 0 ? ' --- ' : ' ---: ')).join('|')}|`,
    ...table.rows.map((r) => `| ${r.map((c) => esc(text(c))).join(' | ')} |`),
  ];
  if (table.notes?.length) out.push('', ...table.notes.map((n) => `- ${n}`));
  return out.join('\n');
}

/** Collects the tables as the sections finish, so a failed section does not lose the others. */
export class Report {
  readonly tables: Table[] = [];
  readonly errors: string[] = [];

  add(table: Table): void {
    this.tables.push(table);
    console.log(renderText(table));
  }

  fail(section: string, err: unknown): void {
    const message = err instanceof Error ? err.message : String(err);
    this.errors.push(`${section}: ${message}`);
    console.log(`\n!! ${section} did not complete: ${message}`);
  }

  markdown(header: string[]): string {
    // Sections run in the order that reuses databases best; they read best in their numbered order.
    const ordered = [...this.tables].sort((a, b) => parseFloat(a.title) - parseFloat(b.title));
    const parts = [...header, '', ...ordered.flatMap((t) => [renderMarkdown(t), ''])];
    if (this.errors.length) parts.push('Sections that did not complete:', ...this.errors.map((e) => `- ${e}`), '');
    return parts.join('\n');
  }
}
