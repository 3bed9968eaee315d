#!/usr/bin/env node
// The operator CLI. Runs the TypeScript sources through tsx, as `npm start` does, so an installed
// checkout needs no build step: `npx im --help`.
import { register } from 'tsx/esm/api';

register();
await import('../src/cli/main.ts');
