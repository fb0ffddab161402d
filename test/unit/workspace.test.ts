import { mkdir, readFile, readdir, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import {
  CacheStore,
  Workspace,
  cacheKey,
  defaultWorkspaceRoot,
  isInside,
  writeFileAtomic,
} from '../../electron/lab/workspace';
import { withTempDir } from '../helpers/temp';

describe('workspace', () => {
  it('lives under KDLAB_HOME, else XDG_DATA_HOME, else ~/.local/share', () => {
    expect(defaultWorkspaceRoot({ KDLAB_HOME: '/srv/lab' })).toBe('/srv/lab');
    expect(defaultWorkspaceRoot({ XDG_DATA_HOME: '/data' })).toBe('/data/kdlab');
    expect(defaultWorkspaceRoot({})).toMatch(/\.local\/share\/kdlab$/);
  });

  it('creates its folders and keeps paths inside', async () => {
    await withTempDir(async (dir) => {
      const ws = await Workspace.open(join(dir, 'ws'));
      expect((await readdir(ws.root)).sort()).toEqual(['cache', 'jobs', 'state', 'tmp', 'vmcores']);
      expect(ws.resolveInside('cache/x')).toBe(join(ws.root, 'cache/x'));
      expect(() => ws.resolveInside('../../etc/passwd')).toThrow(/outside the kdlab workspace/);
      expect(() => ws.resolveInside('/etc/passwd')).toThrow(/outside/);
    });
  });

  it('says how to fix an unwritable workspace', async () => {
    await withTempDir(async (dir) => {
      await writeFile(join(dir, 'file'), 'x');
      await expect(Workspace.open(join(dir, 'file', 'ws'))).rejects.toMatchObject({
        code: 'IO',
        hint: expect.stringContaining('KDLAB_HOME'),
      });
    });
  });

  it('isInside resolves .. and rejects siblings with a common prefix', () => {
    expect(isInside('/a/b', '/a/b/c')).toBe(true);
    expect(isInside('/a/b', '/a/b')).toBe(true);
    expect(isInside('/a/b', '/a/bc')).toBe(false);
    expect(isInside('/a/b', '/a/b/../c')).toBe(false);
  });
});

describe('writeFileAtomic', () => {
  it('replaces the file and leaves no temp file behind', async () => {
    await withTempDir(async (dir) => {
      const file = join(dir, 'sub', 'state.json');
      await writeFileAtomic(file, 'one');
      await writeFileAtomic(file, 'two');
      expect(await readFile(file, 'utf8')).toBe('two');
      expect(await readdir(join(dir, 'sub'))).toEqual(['state.json']);
    });
  });

  it('keeps the old content when the write fails', async () => {
    await withTempDir(async (dir) => {
      const file = join(dir, 'state.json');
      await writeFileAtomic(file, 'old');
      // A directory where the file should be renamed to makes rename fail after the temp is written.
      const blocked = join(dir, 'blocked');
      await mkdir(join(blocked, 'child'), { recursive: true });
      await expect(writeFileAtomic(blocked, 'new')).rejects.toThrow();
      expect(await readFile(file, 'utf8')).toBe('old');
      expect((await readdir(dir)).sort()).toEqual(['blocked', 'state.json']);
    });
  });
});

describe('CacheStore', () => {
  it('counts an entry only with its manifest and intact outputs', async () => {
    await withTempDir(async (dir) => {
      const cache = new CacheStore(join(dir, 'kernels'), 'kernel');
      const key = cacheKey({ source: 'linux-6.1', config: 'abc' });
      expect(await cache.lookup(key)).toBeNull();
      const manifest = await cache.commit(key, { source: 'linux-6.1' }, async (staging) => {
        await writeFile(join(staging, 'bzImage'), 'kernel-bytes');
        return ['bzImage'];
      });
      expect(manifest.outputs).toEqual([
        { path: 'bzImage', size: 12, sha256: expect.stringMatching(/^[0-9a-f]{64}$/) },
      ]);
      expect(await cache.lookup(key)).toEqual(manifest);
      // A truncated output invalidates the entry.
      await writeFile(join(cache.entryDir(key), 'bzImage'), 'short');
      expect(await cache.lookup(key)).toBeNull();
    });
  });

  it('leaves no entry and keeps the previous one when production fails', async () => {
    await withTempDir(async (dir) => {
      const cache = new CacheStore(join(dir, 'c'), 'kernel');
      await cache.commit('k1', {}, async (staging) => {
        await writeFile(join(staging, 'out'), 'v1');
        return ['out'];
      });
      await expect(
        cache.commit('k1', {}, async (staging) => {
          await writeFile(join(staging, 'out'), 'partial');
          throw new Error('make failed');
        }),
      ).rejects.toThrow('make failed');
      expect(await readFile(join(cache.entryDir('k1'), 'out'), 'utf8')).toBe('v1');
      expect(await readdir(join(dir, 'c'))).toEqual(['k1']);
    });
  });

  it('sweeps staging leftovers and entries without a manifest', async () => {
    await withTempDir(async (dir) => {
      const cache = new CacheStore(join(dir, 'c'), 'kernel');
      await mkdir(join(dir, 'c', '.staging-k-1234'), { recursive: true });
      await mkdir(join(dir, 'c', 'half'), { recursive: true });
      await cache.commit('good', {}, async (staging) => {
        await writeFile(join(staging, 'a'), 'a');
        return ['a'];
      });
      expect((await cache.sweep()).sort()).toEqual(['.staging-k-1234', 'half']);
      expect(await readdir(join(dir, 'c'))).toEqual(['good']);
    });
  });

  it('refuses keys that could escape the cache', () => {
    const cache = new CacheStore('/tmp/c', 'kernel');
    expect(() => cache.entryDir('../x')).toThrow(/Invalid cache key/);
  });
});
