// One temp folder per test run: every test's scratch folders (os.tmpdir()) go under it and it is
// removed when the run ends, so an aborted test, a test that forgets its cleanup or a crashed worker
// cannot leave gigabytes of kernels, images and vmcores in /tmp run after run.
import { chmod, mkdtemp, readFile, readdir, rm, stat, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

const prefix = 'kdlab-run-';

function isAlive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch (error) {
    return (error as NodeJS.ErrnoException).code === 'EPERM';
  }
}

/** Folders of earlier runs that were killed before their teardown (their runner is gone). */
async function removeAbandonedRuns(base: string): Promise<void> {
  for (const name of await readdir(base)) {
    if (!name.startsWith(prefix)) continue;
    const dir = join(base, name);
    const pid = Number(await readFile(join(dir, 'runner.pid'), 'utf8').catch(() => '0'));
    if (pid > 0 && isAlive(pid)) continue;
    // No pid yet: another run may be starting right now.
    if (pid === 0 && Date.now() - (await stat(dir)).mtimeMs < 60_000) continue;
    await rm(dir, { recursive: true, force: true }).catch(() => undefined);
  }
}

export default async function setup(): Promise<() => Promise<void>> {
  const base = tmpdir();
  await removeAbandonedRuns(base);
  const dir = await mkdtemp(join(base, prefix));
  await writeFile(join(dir, 'runner.pid'), String(process.pid));
  // Like /tmp itself: some tests run a step as another user (nobody) in a folder of their own.
  await chmod(dir, 0o1777);
  // Workers are forked after the global setup, so they inherit this.
  process.env.TMPDIR = dir;
  return async () => {
    // A private dockerd's tmpfs may still be mounted if its test was killed: remove what can be.
    await rm(dir, { recursive: true, force: true }).catch(() => undefined);
  };
}
