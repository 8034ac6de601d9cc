import { randomBytes } from 'node:crypto';
import { ident } from '../../src/db/sql.ts';
import { atFileEnd } from './cleanup.ts';
import type { TestDatabase } from './db.ts';

/**
 * A role for this test file, named uniquely: roles belong to the whole cluster,
 * which other files and other runs share. Dropped when the file ends, before its
 * database (clean-ups run last registered first), with the privileges it holds there.
 */
export async function testRole(db: TestDatabase, label: string): Promise<string> {
  const role = `bellows_t_${randomBytes(4).toString('hex')}_${label}`;
  await db.query(`CREATE ROLE ${ident(role)} NOLOGIN`);
  atFileEnd(async () => {
    await db.query(`DROP OWNED BY ${ident(role)}`);
    await db.query(`DROP ROLE ${ident(role)}`);
  });
  return role;
}
