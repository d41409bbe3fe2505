/**
 * Builds the pages into web-client/dist/: the video-visit pages (patient /visit/, provider
 * /provider/) and the staff consoles (/console/, Preact) that gateway/web/static-routes.ts serves
 * under a strict CSP, and the messenger's chat page (messenger/) that only the local
 * `telehealth messenger` app serves. Nothing may end up inline in the
 * HTML (no module-preload polyfill, CSS in files), and hashed bundles go to /assets/.
 */
import { fileURLToPath } from 'node:url';
import { defineConfig } from 'vite';

const root = fileURLToPath(new URL('.', import.meta.url));

export default defineConfig({
  root,
  base: '/',
  publicDir: false,
  logLevel: 'warn',
  // Preact's automatic JSX runtime for the .tsx console views.
  oxc: { jsx: { runtime: 'automatic', importSource: 'preact' } },
  build: {
    outDir: fileURLToPath(new URL('./dist', import.meta.url)),
    emptyOutDir: true,
    assetsDir: 'assets',
    // Data-URI inlining of small assets is allowed by img-src, but keep every asset a file anyway.
    assetsInlineLimit: 0,
    // The polyfill is an inline <script>: the CSP (script-src 'self') would refuse it.
    modulePreload: { polyfill: false },
    cssCodeSplit: true,
    sourcemap: false,
    target: 'es2022',
    rolldownOptions: {
      input: {
        visit: fileURLToPath(new URL('./visit/index.html', import.meta.url)),
        provider: fileURLToPath(new URL('./provider/index.html', import.meta.url)),
        console: fileURLToPath(new URL('./console/index.html', import.meta.url)),
        messenger: fileURLToPath(new URL('./messenger/index.html', import.meta.url)),
      },
    },
  },
});
