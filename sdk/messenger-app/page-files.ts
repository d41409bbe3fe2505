/**
 * The only files the local app serves: the built messenger page (web-client/dist/messenger/
 * index.html) and the /assets/ bundles it references — directly, or through the imports of those
 * bundles. Everything is read into memory once at start-up (a few hundred KB); requests are
 * answered by exact name, so no request path ever reaches the filesystem, and the rest of the
 * build (the staff consoles, the visit pages) is not reachable here.
 */
import { readFile } from 'node:fs/promises';
import path from 'node:path';
import { SdkError } from '../errors.ts';

export interface PageFile {
  readonly body: Uint8Array<ArrayBuffer>;
  readonly contentType: string;
}

export interface PageFiles {
  readonly index: PageFile;
  /** By file name under /assets/. */
  readonly assets: ReadonlyMap<string, PageFile>;
}

const TYPES: Readonly<Record<string, string>> = {
  '.js': 'text/javascript; charset=utf-8',
  '.css': 'text/css; charset=utf-8',
  '.svg': 'image/svg+xml',
  '.png': 'image/png',
  '.woff2': 'font/woff2',
};
const ASSET_NAME = /^[A-Za-z0-9][A-Za-z0-9._-]{0,127}$/;
/** `/assets/x.js` in the HTML; `"./x.js"` or `"/assets/x.js"` (static or dynamic imports) in a bundle. */
const REFERENCE = /(?:\/assets\/|["'`]\.\/)([A-Za-z0-9][A-Za-z0-9._-]{0,127}\.(?:js|css|svg|png|woff2))/g;
const MAX_ASSETS = 100;
/** SdkError code when the build is missing or unusable. */
export const PAGE_NOT_BUILT = 'page_not_built';

function notBuilt(file: string, cause: unknown): SdkError {
  return new SdkError(PAGE_NOT_BUILT, `the messenger page is not built (${file} is missing): run \`npm run build:web\` first`, { cause });
}

async function read(file: string): Promise<Uint8Array<ArrayBuffer>> {
  try {
    return new Uint8Array(await readFile(file));
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === 'ENOENT') throw notBuilt(file, err);
    throw err;
  }
}

/** Load the page from a vite build directory (`web-client/dist`). */
export async function loadPageFiles(distDir: string): Promise<PageFiles> {
  const indexFile = path.join(distDir, 'messenger', 'index.html');
  const index: PageFile = { body: await read(indexFile), contentType: 'text/html; charset=utf-8' };
  const assets = new Map<string, PageFile>();
  const pending = [...Buffer.from(index.body).toString('utf8').matchAll(REFERENCE)].map((m) => m[1] ?? '');
  while (pending.length > 0) {
    const name = pending.pop() ?? '';
    if (assets.has(name) || !ASSET_NAME.test(name)) continue;
    if (assets.size >= MAX_ASSETS) throw new SdkError(PAGE_NOT_BUILT, 'the messenger page references too many assets: rebuild it with `npm run build:web`');
    const body = await read(path.join(distDir, 'assets', name));
    const ext = path.extname(name);
    assets.set(name, { body, contentType: TYPES[ext] ?? 'application/octet-stream' });
    if (ext === '.js' || ext === '.css') for (const m of Buffer.from(body).toString('utf8').matchAll(REFERENCE)) pending.push(m[1] ?? '');
  }
  return { index, assets };
}
