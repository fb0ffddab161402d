#!/usr/bin/env node
// Builds what kdlab runs: the CLI and web-mode back end (dist/cli.mjs), the Electron main process
// and preload (dist/electron/*.cjs) with esbuild, and the renderer (dist/renderer) with Vite.
// --if-stale skips the build when dist/ is newer than every source file.
import { build } from 'esbuild';
import { existsSync, mkdirSync, readdirSync, statSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { spawnSync } from 'node:child_process';

const root = fileURLToPath(new URL('..', import.meta.url));
const stamp = join(root, 'dist', '.build-stamp');

function newestMtime(dir) {
  let newest = 0;
  for (const entry of readdirSync(dir, { withFileTypes: true })) {
    if (entry.name === 'node_modules' || entry.name.startsWith('.')) continue;
    const full = join(dir, entry.name);
    newest = Math.max(newest, entry.isDirectory() ? newestMtime(full) : statSync(full).mtimeMs);
  }
  return newest;
}

if (process.argv.includes('--if-stale') && existsSync(stamp)) {
  const sources = Math.max(
    newestMtime(join(root, 'electron')),
    newestMtime(join(root, 'renderer')),
    statSync(join(root, 'package-lock.json')).mtimeMs,
    statSync(join(root, 'vite.config.ts')).mtimeMs,
  );
  if (statSync(stamp).mtimeMs >= sources) process.exit(0);
}

const common = {
  bundle: true,
  platform: 'node',
  target: 'node20',
  sourcemap: 'linked',
  logLevel: 'warning',
  absWorkingDir: root,
};

await build({
  ...common,
  entryPoints: ['electron/cli/main.ts'],
  outfile: 'dist/cli.mjs',
  format: 'esm',
  packages: 'external',
});

if (existsSync(join(root, 'electron/main/main.ts'))) {
  await build({
    ...common,
    entryPoints: ['electron/main/main.ts'],
    outfile: 'dist/electron/main.cjs',
    format: 'cjs',
    packages: 'external',
    external: ['electron'],
  });
}
if (existsSync(join(root, 'electron/preload/preload.ts'))) {
  // A sandboxed preload can require only 'electron': everything else is bundled in.
  await build({
    ...common,
    entryPoints: ['electron/preload/preload.ts'],
    outfile: 'dist/electron/preload.cjs',
    format: 'cjs',
    platform: 'browser',
    external: ['electron'],
  });
}

const vite = spawnSync(
  process.execPath,
  [join(root, 'node_modules/vite/bin/vite.js'), 'build', '--logLevel', 'warn'],
  {
    cwd: root,
    stdio: 'inherit',
  },
);
if (vite.status !== 0) process.exit(vite.status ?? 1);

mkdirSync(join(root, 'dist'), { recursive: true });
writeFileSync(stamp, new Date().toISOString());
