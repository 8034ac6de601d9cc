import { isIP } from 'node:net';
import { InputError } from '../errors.ts';
import { shown } from '../util/printable.ts';

export interface ListenAddress {
  host: string;
  port: number;
}

/** Loopback unless told otherwise: the read API needs no token, so it is not offered to the network by default. */
export const DEFAULT_LISTEN = '127.0.0.1:7070';

/** `host:port`, `[v6]:port` or `:port` (all interfaces); port 0 takes any free port. */
export function parseListen(value: string): ListenAddress {
  const match = /^(?:\[([0-9a-fA-F:.]+)\]|([^:[\]]*)):(\d{1,5})$/.exec(value);
  const port = match ? Number(match[3]) : NaN;
  if (!match || port > 65535) {
    throw new InputError(`--listen: expected host:port (e.g. ${DEFAULT_LISTEN}, [::1]:7070, 0.0.0.0:7070), got ${shown(value)}`);
  }
  const host = match[1] ?? (match[2] || '0.0.0.0');
  if (match[1] !== undefined && isIP(host) !== 6) throw new InputError(`--listen: ${shown(host)} is not an IPv6 address`);
  if (!/^[A-Za-z0-9.-]+$/.test(host)) throw new InputError(`--listen: ${shown(host)} is not a host name or address`);
  return { host, port };
}
