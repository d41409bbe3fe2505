/**
 * Serves the built pages (web-client/dist, `npm run build:web`): /visit/ (patient), /provider/
 * (provider visit console), /console/ (staff consoles) and their hashed bundles under /assets/.
 * The messenger page in dist is not served here: only the local `telehealth messenger` app does. The pages get their own
 * strict CSP (scripts, styles and media from this origin only, no inline code) and are never
 * cached; hashed assets are immutable. Files are read into memory once (the whole build is a few
 * hundred KB) — lookups are by exact name, so no request path ever reaches the filesystem.
 * Not OpenAPI operations: static files, absent from the API document.
 */
import { readdir, readFile, stat } from 'node:fs/promises';
import { extname, join, relative, sep } from 'node:path';
import type { Context } from 'hono';
import { AppError, ErrorCode } from '../../core/errors.ts';
import type { AppEnv } from '../app-env.ts';
import type { RouteModule } from '../route-module.ts';

/** CSP of the visit pages: same-origin script/style/media/WebSocket, camera blobs, nothing inline. */
export const WEB_PAGE_CSP =
  "default-src 'self'; script-src 'self'; style-src 'self'; img-src 'self' data: blob:; media-src 'self' blob:; connect-src 'self'; frame-ancestors 'none'; base-uri 'none'; form-action 'self'";

export const WebStaticError = { notBuilt: 'web_client_not_built' } as const;

const IMMUTABLE = 'public, max-age=31536000, immutable';
/** Vite names bundles `<name>-<hash>.<ext>`; only those may be cached forever. */
const HASHED = /-[A-Za-z0-9_-]{8,}\.[a-z0-9]+$/;
const SAFE_NAME = /^[A-Za-z0-9][A-Za-z0-9._-]{0,127}$/;
const MAX_FILE_BYTES = 8 * 1024 * 1024;

const TYPES: Readonly<Record<string, string>> = {
  '.html': 'text/html; charset=utf-8',
  '.js': 'text/javascript; charset=utf-8',
  '.mjs': 'text/javascript; charset=utf-8',
  '.css': 'text/css; charset=utf-8',
  '.json': 'application/json',
  '.map': 'application/json',
  '.svg': 'image/svg+xml',
  '.png': 'image/png',
  '.jpg': 'image/jpeg',
  '.webp': 'image/webp',
  '.ico': 'image/x-icon',
  '.woff2': 'font/woff2',
  '.wasm': 'application/wasm',
};

/** The pages by URL path → file in dist. */
const PAGES: Readonly<Record<string, string>> = { '/visit/': 'visit/index.html', '/provider/': 'provider/index.html', '/console/': 'console/index.html' };

interface StaticFile {
  readonly body: Uint8Array<ArrayBuffer>;
  readonly headers: Readonly<Record<string, string>>;
}

export interface WebStaticOptions {
  /** The vite output directory (web-client/dist). */
  readonly distDir: string;
}

async function walk(dir: string): Promise<string[]> {
  const out: string[] = [];
  for (const entry of await readdir(dir, { withFileTypes: true })) {
    const full = join(dir, entry.name);
    if (entry.isDirectory()) out.push(...(await walk(full)));
    else if (entry.isFile()) out.push(full);
  }
  return out;
}

function headersFor(rel: string): Record<string, string> {
  const type = TYPES[extname(rel).toLowerCase()] ?? 'application/octet-stream';
  if (type.startsWith('text/html')) return { 'content-type': type, 'cache-control': 'no-store', 'content-security-policy': WEB_PAGE_CSP };
  return { 'content-type': type, 'cache-control': HASHED.test(rel) ? IMMUTABLE : 'no-cache' };
}

/** Every file of the build, keyed by its path relative to dist with '/' separators. */
async function loadDist(distDir: string): Promise<Map<string, StaticFile> | undefined> {
  const info = await stat(distDir).catch((err: unknown) => {
    if ((err as NodeJS.ErrnoException).code === 'ENOENT') return undefined;
    throw err;
  });
  if (info === undefined || !info.isDirectory()) return undefined;
  const files = new Map<string, StaticFile>();
  for (const full of await walk(distDir)) {
    const rel = relative(distDir, full).split(sep).join('/');
    const buf = await readFile(full);
    if (buf.byteLength > MAX_FILE_BYTES) continue;
    files.set(rel, { body: new Uint8Array(buf), headers: headersFor(rel) });
  }
  // A dist without the pages is a broken or partial build: treat it as not built.
  return Object.values(PAGES).every((p) => files.has(p)) ? files : undefined;
}

export function webStaticRoutes(options: WebStaticOptions): RouteModule {
  let files: Map<string, StaticFile> | undefined;
  let loading: Promise<Map<string, StaticFile> | undefined> | undefined;

  // Until a build exists, every request looks again (a developer may build after starting).
  const ready = async (): Promise<Map<string, StaticFile>> => {
    if (files !== undefined) return files;
    loading ??= loadDist(options.distDir).finally(() => (loading = undefined));
    files = await loading;
    if (files === undefined) throw new AppError(503, WebStaticError.notBuilt, 'run npm run build:web');
    return files;
  };

  const send = async (c: Context<AppEnv>, rel: string): Promise<Response> => {
    const file = (await ready()).get(rel);
    if (file === undefined) throw new AppError(404, ErrorCode.notFound, 'Not found');
    return c.body(file.body, 200, file.headers);
  };

  const notAllowed = (): never => {
    throw new AppError(405, ErrorCode.methodNotAllowed, 'Method not allowed');
  };
  const others = ['POST', 'PUT', 'PATCH', 'DELETE', 'OPTIONS'];

  return (app) => {
    for (const [path, rel] of Object.entries(PAGES)) {
      // GET also answers HEAD (Hono drops the body).
      app.get(path, (c) => send(c, rel));
      // Keep the fragment (the visit token): browsers carry it across the redirect.
      app.get(path.slice(0, -1), (c) => c.redirect(path, 308));
      app.on(others, path, notAllowed);
    }
    app.get('/assets/:name', (c) => {
      const name = c.req.param('name');
      if (!SAFE_NAME.test(name)) throw new AppError(404, ErrorCode.notFound, 'Not found');
      return send(c, `assets/${name}`);
    });
    app.on(others, '/assets/:name', notAllowed);
  };
}
