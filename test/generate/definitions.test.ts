import { describe, expect, it } from 'vitest';
import { constraintSpec, functionSpec, indexSpec } from '../../src/generate/definitions.ts';

/** The specs generate reads back from PostgreSQL's own definitions, and null for what the operations cannot say (generate then writes raw SQL). */
describe('reading definitions back into operation specs', () => {
  it('indexes: columns, expressions (a mix is all expressions), unique, method, partial', () => {
    expect(indexSpec('CREATE INDEX i ON public.t USING btree (a, b)')).toEqual({ table: 'public.t', name: 'i', unique: false, method: 'btree', columns: ['a', 'b'] });
    expect(indexSpec(`CREATE UNIQUE INDEX i ON public.t USING btree (lower(email), id) WHERE (note <> 'x, y'::text)`)).toEqual({
      table: 'public.t',
      name: 'i',
      unique: true,
      method: 'btree',
      expressions: ['lower(email)', 'id'],
      where: `(note <> 'x, y'::text)`,
    });
    expect(indexSpec('CREATE INDEX i ON public.t USING gin (tags)')).toMatchObject({ method: 'gin', columns: ['tags'] });
    for (const beyond of [
      'CREATE INDEX i ON public.t USING btree (a DESC)',
      'CREATE INDEX i ON public.t USING btree (a text_pattern_ops)',
      'CREATE INDEX i ON public.t USING btree (a) INCLUDE (b)',
      'CREATE INDEX i ON public.t USING btree (a) WITH (fillfactor=50)',
      'CREATE INDEX i ON public.t USING spgist (a)',
      'CREATE INDEX i ON ONLY public.t USING btree (a)',
    ]) expect(indexSpec(beyond), beyond).toBeNull();
  });

  it('constraints: check with its columns, unique, foreign key with on delete; null beyond them', () => {
    expect(constraintSpec('CHECK ((price >= (0)::numeric))')).toEqual({ type: 'check', columns: ['price'], check: '(price >= (0)::numeric)' });
    expect(constraintSpec('UNIQUE (a, b)')).toEqual({ type: 'unique', columns: ['a', 'b'] });
    expect(constraintSpec('PRIMARY KEY (id)')).toEqual({ type: 'primary_key', columns: ['id'] });
    expect(constraintSpec('FOREIGN KEY (user_id) REFERENCES public.users(id) ON DELETE SET NULL')).toEqual({
      type: 'foreign_key',
      columns: ['user_id'],
      references: { table: 'public.users', columns: ['id'] },
      on_delete: 'set null',
    });
    expect(constraintSpec('FOREIGN KEY (user_id) REFERENCES public.users(id)')).not.toHaveProperty('on_delete');
    for (const beyond of [
      'FOREIGN KEY (user_id) REFERENCES public.users(id) ON UPDATE CASCADE',
      'FOREIGN KEY (user_id) REFERENCES public.users(id) MATCH FULL',
      'UNIQUE (a) DEFERRABLE',
      'UNIQUE NULLS NOT DISTINCT (a)',
      'UNIQUE (a) INCLUDE (b)',
      'CHECK ((a > 0)) NO INHERIT',
      'CHECK (true)',
      'EXCLUDE USING gist (p WITH &&)',
    ]) expect(constraintSpec(beyond), beyond).toBeNull();
  });

  it('functions: arguments, result, language, body, volatility, security definer; null for other attributes', () => {
    const definition = (attributes: string, language = 'sql') =>
      `CREATE OR REPLACE FUNCTION public.f(email text, n integer DEFAULT 1)\n RETURNS text\n LANGUAGE ${language}\n${attributes}AS $function$ select $1 $function$\n`;
    expect(functionSpec(definition(' IMMUTABLE SECURITY DEFINER\n'.replace(' SECURITY', '\n SECURITY')), 'public', 'f')).toEqual({
      schema: 'public',
      name: 'f',
      args: 'email text, n integer DEFAULT 1',
      returns: 'text',
      language: 'sql',
      body: ' select $1 ',
      volatility: 'immutable',
      security_definer: true,
    });
    expect(functionSpec(definition(''), 'public', 'f')).toMatchObject({ security_definer: false });
    expect(functionSpec(definition(' STABLE\n'), 'public', 'f')).toMatchObject({ volatility: 'stable' });
    for (const beyond of [definition(' STRICT\n'), definition(' PARALLEL SAFE\n'), definition(" SET search_path TO 'public'\n"), definition('', 'c')]) {
      expect(functionSpec(beyond, 'public', 'f'), beyond).toBeNull();
    }
  });
});
