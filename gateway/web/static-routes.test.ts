import { mkdir, mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { testApp } from '../testing/harness.ts';
import { WEB_PAGE_CSP, webStaticRoutes } from './static-routes.ts';

const dirs: string[] = [];
afterEach(async () => {
  for (const d of dirs.splice(0)) await rm(d, { recursive: true, force: true });
});

/** A dist laid out like vite's, next to a file that must never be served. */
async function fakeDist(): Promise<{ root: string; dist: string }> {
  const root = await mkdtemp(join(tmpdir(), 'web-static-'));
  dirs.push(root);
  const dist = join(root, 'dist');
  await writeDist(dist);
  await writeFile(join(root, 'secret.txt'), 'outside dist');
  return { root, dist };
}

async function writeDist(dist: string): Promise<void> {
  await mkdir(join(dist, 'visit'), { recursive: true });
  await mkdir(join(dist, 'provider'), { recursive: true });
  await mkdir(join(dist, 'console'), { recursive: true });
  await mkdir(join(dist, 'messenger'), { recursive: true });
  await mkdir(join(dist, 'assets'), { recursive: true });
  await writeFile(join(dist, 'visit', 'index.html'), '<!doctype html><title>Video visit</title>');
  await writeFile(join(dist, 'provider', 'index.html'), '<!doctype html><title>Provider</title>');
  await writeFile(join(dist, 'console', 'index.html'), '<!doctype html><title>Clinic console</title>');
  await writeFile(join(dist, 'messenger', 'index.html'), '<!doctype html><title>Messenger</title>');
  await writeFile(join(dist, 'assets', 'visit-Ab12Cd34.js'), 'console.log(1)');
  await writeFile(join(dist, 'assets', 'api-Zz9_Yy8x.css'), 'body{}');
  await writeFile(join(dist, 'assets', 'plain.txt'), 'x');
}

const appFor = (distDir: string) => testApp({ modules: [webStaticRoutes({ distDir })] }).app;

describe('webStaticRoutes', () => {
  it('serves the pages with the page CSP, never cached, and never the local messenger page', async () => {
    const { dist } = await fakeDist();
    const app = appFor(dist);
    for (const [path, title] of [['/visit/', 'Video visit'], ['/provider/', 'Provider'], ['/console/', 'Clinic console']] as const) {
      const res = await app.request(path);
      expect(res.status).toBe(200);
      expect(await res.text()).toContain(`<title>${title}</title>`);
      expect(res.headers.get('content-type')).toBe('text/html; charset=utf-8');
      expect(res.headers.get('content-security-policy')).toBe(WEB_PAGE_CSP);
      expect(res.headers.get('cache-control')).toBe('no-store');
      expect(res.headers.get('x-frame-options')).toBe('DENY');
    }
    // The chat page talks to a local app holding the user's keys; the gateway must not serve it.
    for (const path of ['/messenger/', '/messenger/index.html']) expect((await app.request(path)).status, path).toBe(404);
  });

  it('answers HEAD without a body and redirects the slash-less path (keeping the fragment client-side)', async () => {
    const { dist } = await fakeDist();
    const app = appFor(dist);
    const head = await app.request('/visit/', { method: 'HEAD' });
    expect(head.status).toBe(200);
    expect(head.headers.get('content-type')).toBe('text/html; charset=utf-8');
    expect(await head.text()).toBe('');
    const redirect = await app.request('/visit');
    expect(redirect.status).toBe(308);
    expect(redirect.headers.get('location')).toBe('/visit/');
  });

  it('serves hashed assets as immutable with their content type; unhashed files revalidate', async () => {
    const { dist } = await fakeDist();
    const app = appFor(dist);
    const js = await app.request('/assets/visit-Ab12Cd34.js');
    expect(js.status).toBe(200);
    expect(js.headers.get('content-type')).toBe('text/javascript; charset=utf-8');
    expect(js.headers.get('cache-control')).toBe('public, max-age=31536000, immutable');
    expect(await js.text()).toBe('console.log(1)');
    const css = await app.request('/assets/api-Zz9_Yy8x.css');
    expect(css.headers.get('content-type')).toBe('text/css; charset=utf-8');
    const plain = await app.request('/assets/plain.txt');
    expect(plain.headers.get('cache-control')).toBe('no-cache');
    expect(plain.headers.get('content-type')).toBe('application/octet-stream');
  });

  it('refuses path traversal and unknown files with 404', async () => {
    const { dist } = await fakeDist();
    const app = appFor(dist);
    for (const path of [
      '/assets/..%2fsecret.txt',
      '/assets/..%2f..%2fsecret.txt',
      '/assets/%2e%2e%2fvisit%2findex.html',
      '/assets/..%5csecret.txt',
      '/assets/missing-Ab12Cd34.js',
      '/visit/..%2f..%2fsecret.txt',
      '/secret.txt',
      '/visit/index.html',
    ]) {
      const res = await app.request(path);
      expect(res.status, path).toBe(404);
      expect(await res.text(), path).not.toContain('outside dist');
    }
  });

  it('allows only GET and HEAD', async () => {
    const { dist } = await fakeDist();
    const app = appFor(dist);
    for (const [method, path] of [['POST', '/visit/'], ['PUT', '/provider/'], ['DELETE', '/assets/visit-Ab12Cd34.js']] as const) {
      const res = await app.request(path, { method });
      expect(res.status, `${method} ${path}`).toBe(405);
      expect(((await res.json()) as { error: { code: string } }).error.code).toBe('method_not_allowed');
    }
  });

  it('answers 503 web_client_not_built until the build exists, then serves it', async () => {
    const root = await mkdtemp(join(tmpdir(), 'web-static-'));
    dirs.push(root);
    const dist = join(root, 'dist');
    const app = appFor(dist);
    const res = await app.request('/visit/');
    expect(res.status).toBe(503);
    expect(((await res.json()) as { error: { code: string; message: string } }).error).toMatchObject({ code: 'web_client_not_built', message: 'run npm run build:web' });
    await writeDist(dist);
    expect((await app.request('/visit/')).status).toBe(200);
  });
});
