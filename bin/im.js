#!/usr/bin/env node
// The operator CLI. A checkout runs the TypeScript sources through tsx, as `npm start` does, so it
// needs no build step (`npx im --help`) and never runs a stale build. The container image ships no
// sources, only the compiled dist/, and runs that.
import { existsSync } from 'node:fs';

const sources = new URL('../src/cli/main.ts', import.meta.url);
if (existsSync(sources)) {
  const { register } = await import('tsx/esm/api');
  register();
  await import(sources.href);
} else {
  await import('../dist/cli/main.js');
}
