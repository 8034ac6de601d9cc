import { randomBytes } from 'node:crypto';
import { hostname } from 'node:os';

const id = `${hostname()}:${process.pid}:${randomBytes(3).toString('hex')}`;

/** This process as a range's walker: host and pid for the operator, a random tail so a reused pid is not mistaken for the old one. */
export function walkerId(): string {
  return id;
}
