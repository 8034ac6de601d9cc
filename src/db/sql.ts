/**
 * The one way identifiers enter SQL text. Values never do: they travel as $n
 * parameters. Expressions written by the playbook author (`up`, `down`,
 * `default`) are the only raw SQL, and they are validated against the live
 * database before any DDL runs.
 */
export function ident(name: string): string {
  return '"' + name.replace(/"/g, '""') + '"';
}

/** `body` between dollar quotes whose tag it does not contain, so no text in it can end them early. */
export function dollarQuoted(body: string): string {
  let tag = '$bellows$';
  for (let n = 1; body.includes(tag); n++) tag = `$bellows${n}$`;
  return `${tag}${body}${tag}`;
}

/** The body of the first string `dollarQuoted` made in `sql`, as PostgreSQL numbers its lines (null when there is none). */
export function dollarQuotedBody(sql: string): string | null {
  const open = /\$bellows\d*\$/.exec(sql);
  if (!open) return null;
  const from = open.index + open[0].length;
  const to = sql.indexOf(open[0], from);
  return sql.slice(from, to < 0 ? undefined : to);
}

/** A SQL string literal, for the few places PostgreSQL accepts no parameter (DDL, COMMENT). */
export function literal(value: string): string {
  return "'" + value.replace(/'/g, "''") + "'";
}

export interface TableRef {
  schema: string;
  name: string;
}

export function qualified(table: TableRef): string {
  return `${ident(table.schema)}.${ident(table.name)}`;
}

/** `public.users` or `users` (schema defaults to public). */
export function parseTableRef(text: string): TableRef {
  const dot = text.indexOf('.');
  if (dot < 0) return { schema: 'public', name: text };
  return { schema: text.slice(0, dot), name: text.slice(dot + 1) };
}

export function tableKey(table: TableRef): string {
  return `${table.schema}.${table.name}`;
}

/** PostgreSQL truncates identifiers at 63 bytes; we shorten ours deliberately and keep them unique with a hash. */
export function shortName(prefix: string, ...parts: string[]): string {
  const full = [prefix, ...parts].join('_');
  if (Buffer.byteLength(full) <= 63) return full;
  let h = 0;
  for (const ch of full) h = (Math.imul(h, 31) + ch.charCodeAt(0)) | 0;
  const tag = (h >>> 0).toString(36);
  return full.slice(0, 63 - tag.length - 1) + '_' + tag;
}
