import assert from 'node:assert/strict';
import { cpSync, existsSync, mkdirSync, readFileSync, statSync, symlinkSync, writeFileSync } from 'node:fs';
import { dirname, join, posix, relative } from 'node:path';
import { fileURLToPath } from 'node:url';
import ts from 'typescript';
import { z } from 'zod';

/**
 * The app image's file system, laid out from the Dockerfile without a Docker engine, so a test can
 * run what the image runs.
 */
const checkout = fileURLToPath(new URL('../../', import.meta.url));

export interface Instruction {
  keyword: string;
  args: string[];
}

export interface Stage {
  name: string | undefined;
  instructions: Instruction[];
}

/** The Dockerfile's stages, continuation lines joined, comments left out. */
export function dockerfileStages(text: string): Stage[] {
  const stages: Stage[] = [];
  for (const line of text.replace(/\\\n/g, ' ').split('\n')) {
    const [keyword, ...args] = line.trim().split(/\s+/);
    if (!keyword || keyword.startsWith('#')) continue;
    if (keyword.toUpperCase() === 'FROM') stages.push({ name: args[2], instructions: [] });
    else stages.at(-1)!.instructions.push({ keyword: keyword.toUpperCase(), args });
  }
  return stages;
}

export interface Copy {
  /** The stage copied from; undefined for the build context. */
  from: string | undefined;
  source: string;
  /** Absolute, in the image. */
  target: string;
}

/** A stage's COPY instructions (one source each), with their targets resolved against WORKDIR. */
export function copies(stage: Stage): Copy[] {
  let workdir = '/';
  const out: Copy[] = [];
  for (const { keyword, args } of stage.instructions) {
    if (keyword === 'WORKDIR') workdir = posix.resolve(workdir, args[0]!);
    if (keyword !== 'COPY') continue;
    const from = args.find((a) => a.startsWith('--from='))?.slice('--from='.length);
    const [source, target] = args.filter((a) => !a.startsWith('--'));
    assert.ok(source && target, `Dockerfile: COPY ${args.join(' ')} has no source or no target`);
    const resolved = posix.resolve(workdir, target);
    out.push({ from, source, target: target.endsWith('/') ? posix.join(resolved, posix.basename(source)) : resolved });
  }
  return out;
}

/** The symbolic links a stage's RUN instructions make (`ln -s target link`), link -> target. */
export function links(stage: Stage): Map<string, string> {
  const made = new Map<string, string>();
  for (const { keyword, args } of stage.instructions) {
    if (keyword !== 'RUN') continue;
    for (const m of args.join(' ').matchAll(/\bln -sf? (\S+) (\S+)/g)) made.set(m[2]!, m[1]!);
  }
  return made;
}

/**
 * Lays the last stage out under `root`. From the build context, the checkout's files. From the
 * build stage (WORKDIR /app): `dist`, the sources compiled as `npm run build` compiles them, minus
 * the type check (`npm run typecheck` has that); `node_modules`, the production dependencies only,
 * as `npm prune --omit=dev` leaves them; anything else, the checkout's file it copied in. Then the
 * links of the RUN instructions.
 */
export function layOutImage(stages: Stage[], root: string): void {
  const image = stages.at(-1)!;
  for (const { from, source, target } of copies(image)) {
    const destination = join(root, target);
    mkdirSync(dirname(destination), { recursive: true });
    const path = from === undefined ? source : posix.relative('/app', source);
    if (from !== undefined && path === 'dist') compileSources(destination);
    else if (from !== undefined && path === 'node_modules') productionDependencies(destination);
    else cpSync(join(checkout, path), destination, { recursive: statSync(join(checkout, path)).isDirectory() });
  }
  for (const [link, target] of links(image)) {
    mkdirSync(dirname(join(root, link)), { recursive: true });
    symlinkSync(join(root, target), join(root, link));
  }
}

function compileSources(outDir: string): void {
  const config = ts.getParsedCommandLineOfConfigFile(join(checkout, 'tsconfig.build.json'), {}, {
    ...ts.sys,
    onUnRecoverableConfigFileDiagnostic: (d) => {
      throw new Error(ts.flattenDiagnosticMessageText(d.messageText, '\n'));
    },
  })!;
  // One file at a time the compiler cannot see package.json's "type": "module", which makes every
  // file an ES module under NodeNext; ESNext says so directly.
  const compilerOptions = { ...config.options, module: ts.ModuleKind.ESNext, sourceMap: false };
  for (const file of config.fileNames) {
    const { outputText } = ts.transpileModule(readFileSync(file, 'utf8'), { compilerOptions, fileName: file });
    const output = join(outDir, relative(config.options.rootDir!, file)).replace(/\.ts$/, '.js');
    mkdirSync(dirname(output), { recursive: true });
    writeFileSync(output, outputText);
  }
}

const lockfile = z.object({ packages: z.record(z.string(), z.object({ dev: z.boolean().optional() })) });

/** Links the installed packages the lockfile does not mark dev; nested ones come with their parents. */
function productionDependencies(nodeModules: string): void {
  const { packages } = lockfile.parse(JSON.parse(readFileSync(join(checkout, 'package-lock.json'), 'utf8')));
  for (const [path, { dev }] of Object.entries(packages)) {
    const name = /^node_modules\/((?:@[^/]+\/)?[^/]+)$/.exec(path)?.[1];
    if (!name || dev || !existsSync(join(checkout, path))) continue;
    mkdirSync(dirname(join(nodeModules, name)), { recursive: true });
    symlinkSync(join(checkout, path), join(nodeModules, name), 'dir');
  }
}
