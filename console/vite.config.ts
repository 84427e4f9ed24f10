// Builds the console's front end (Preact) into dist/ui, which every worker serves at /ui.
// Run by `npm run build` (and `npm run build:ui` alone); no CDN, no network at run time.
import { fileURLToPath } from 'node:url';
import { defineConfig } from 'vite';

const here = fileURLToPath(new URL('.', import.meta.url));

export default defineConfig({
  root: here,
  base: '/ui/',
  logLevel: 'warn',
  build: { outDir: fileURLToPath(new URL('../dist/ui', import.meta.url)), emptyOutDir: true, sourcemap: false },
  oxc: { jsx: { runtime: 'automatic', importSource: 'preact' } },
});
