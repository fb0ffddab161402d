// `kdlab start`: the Electron app when its binary is here and there is a display, else the web mode.
import { spawn } from 'node:child_process';
import { existsSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { isExecutable } from '../lab/process';

export type ElectronAvailability = { ok: true; binary: string } | { ok: false; reason: string };

/** Finds the Electron binary without `require('electron')`, which would try to download it. */
export function findElectron(appRoot: string, env: NodeJS.ProcessEnv = process.env): ElectronAvailability {
  const explicit = env.KDLAB_ELECTRON;
  if (explicit) {
    return isExecutable(explicit)
      ? { ok: true, binary: explicit }
      : { ok: false, reason: `KDLAB_ELECTRON=${explicit} is not executable` };
  }
  const pkg = join(appRoot, 'node_modules', 'electron');
  if (!existsSync(join(pkg, 'package.json')))
    return { ok: false, reason: 'the electron package is not installed (run npm ci)' };
  const pathFile = join(pkg, 'path.txt');
  const relative = existsSync(pathFile) ? readFileSync(pathFile, 'utf8').trim() : 'electron';
  const distDir = env.ELECTRON_OVERRIDE_DIST_PATH ?? join(pkg, 'dist');
  const binary = join(distDir, relative);
  if (!isExecutable(binary)) {
    return {
      ok: false,
      reason: `the Electron binary is not downloaded (${binary} is missing; on a networked machine run: npx install-electron)`,
    };
  }
  return { ok: true, binary };
}

export function hasDisplay(env: NodeJS.ProcessEnv = process.env): boolean {
  return process.platform !== 'linux' || Boolean(env.DISPLAY || env.WAYLAND_DISPLAY);
}

export function launchElectron(binary: string, appRoot: string): Promise<number> {
  return new Promise((resolve) => {
    const child = spawn(binary, [appRoot], { stdio: 'inherit' });
    child.once('error', () => resolve(1));
    child.once('exit', (code) => resolve(code ?? 1));
  });
}
