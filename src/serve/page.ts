import { fileURLToPath } from 'node:url';
import { serveStatic } from '@hono/node-server/serve-static';
import type { MiddlewareHandler } from 'hono';

/** The dashboard: static HTML, CSS and JS modules, no build step, shipped beside this file. */
export const PAGE_DIR = fileURLToPath(new URL('./page/', import.meta.url));

/** Files of `dir` at `/` (index.html for `/`), with their content types; paths that climb out are refused by serveStatic. */
export function pageFiles(dir = PAGE_DIR): MiddlewareHandler {
  const files = serveStatic({ root: dir });
  return async (c, next) => {
    c.header('X-Content-Type-Options', 'nosniff');
    c.header('Cache-Control', 'no-cache');
    return files(c, next);
  };
}
