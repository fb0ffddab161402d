import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

/** A fresh folder per test, removed afterwards. */
export async function withTempDir<T>(fn: (dir: string) => Promise<T>): Promise<T> {
  const dir = await mkdtemp(join(tmpdir(), 'kdlab-test-'));
  try {
    return await fn(dir);
  } finally {
    await rm(dir, { recursive: true, force: true });
  }
}

export function makeTempDir(): Promise<string> {
  return mkdtemp(join(tmpdir(), 'kdlab-test-'));
}

export function waitFor(predicate: () => boolean, timeoutMs = 10_000, intervalMs = 20): Promise<void> {
  const started = Date.now();
  return new Promise((resolve, reject) => {
    const tick = () => {
      if (predicate()) resolve();
      else if (Date.now() - started > timeoutMs)
        reject(new Error(`condition not met within ${timeoutMs} ms`));
      else setTimeout(tick, intervalMs);
    };
    tick();
  });
}
