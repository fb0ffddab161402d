import { execFileSync } from 'node:child_process';
import { existsSync } from 'node:fs';
import { fileURLToPath } from 'node:url';

export const appRoot = fileURLToPath(new URL('../..', import.meta.url));

/** Integration and e2e tests run the built app (dist/); build it when it is missing or stale. */
export function ensureBuilt(): void {
  execFileSync(process.execPath, ['scripts/build.mjs', '--if-stale'], { cwd: appRoot, stdio: 'inherit' });
  if (!existsSync(`${appRoot}/dist/cli.mjs`)) throw new Error('build did not produce dist/cli.mjs');
}
