import { copyFileSync, mkdirSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { build } from 'esbuild';

/**
 * The production build of the web client into dist/web, which the server serves at `/`. It runs
 * before every `npm start` and in `npm run build`: esbuild takes well under a second, so there is
 * no staleness to track.
 */
const root = (path: string) => fileURLToPath(new URL(`../${path}`, import.meta.url));
const outdir = root('dist/web');

mkdirSync(outdir, { recursive: true });
await build({
  entryPoints: [root('web/src/main.tsx')],
  outdir,
  bundle: true,
  format: 'esm',
  target: 'es2022',
  jsx: 'automatic',
  jsxImportSource: 'preact',
  minify: true,
  sourcemap: true,
  logLevel: 'warning',
});
copyFileSync(root('web/index.html'), `${outdir}/index.html`);
