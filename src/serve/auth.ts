import { createHash, timingSafeEqual } from 'node:crypto';
import type { MiddlewareHandler } from 'hono';

/** Digests have one length whatever the token's, so the comparison takes the same time for every guess. */
function digest(text: string): Buffer {
  return createHash('sha256').update(text, 'utf8').digest();
}

/**
 * Guards the write actions: the bearer token (BELLOWS_TOKEN), compared in
 * constant time. Without a token the server is read-only and every write is
 * refused (403); a missing or wrong token is 401.
 */
export function requireToken(token: string | undefined): MiddlewareHandler {
  const expected = token ? digest(token) : null;
  return async (c, next) => {
    if (!expected) return c.json({ error: 'this server is read-only: it was started without BELLOWS_TOKEN' }, 403);
    const given = /^Bearer +(\S+) *$/i.exec(c.req.header('authorization') ?? '')?.[1];
    if (!given || !timingSafeEqual(digest(given), expected)) {
      c.header('WWW-Authenticate', 'Bearer realm="bellows"');
      return c.json({ error: given ? 'wrong bearer token' : 'a write action needs the bearer token: Authorization: Bearer <BELLOWS_TOKEN>' }, 401);
    }
    await next();
  };
}
