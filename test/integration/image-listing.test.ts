// Images read back from the packed files: the real ImageBuilder packs a busybox initramfs with the
// lab kernel's gen_init_cpio, RootfsBuilder makes an ext4 from it, and the listing (cpio parsed in
// TypeScript) must agree with what was packed: sizes, symlink targets, device nodes, /init. The
// component tests' fixture (test/fixtures/images/initramfs-shell.json) is checked against it too;
// KDLAB_UPDATE_FIXTURES=1 rewrites it from this run.
import { mkdir, readFile, stat, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { rm } from 'node:fs/promises';
import { describe, expect, it } from 'vitest';
import type { ImageSummary, JobInfo, PackedImage } from '../../electron/common/types';
import { createLabBackend } from '../../electron/lab/lab-backend';
import { describePackedImage, listPackedImages, readInitramfs } from '../../electron/lab/image/image-listing';
import { ImageBuilder } from '../../electron/lab/image/initramfs';
import { renderInit } from '../../electron/lab/image/init-templates';
import { RootfsBuilder } from '../../electron/lab/image/rootfs';
import type { Progress, ProgressUpdate } from '../../electron/lab/jobs';
import { appRoot } from '../helpers/build';
import { apiTestClient } from '../helpers/api-client';
import { labKernel, testWorkspaceRoot } from '../helpers/lab-kernel';

const fixture = join(appRoot, 'test', 'fixtures', 'images', 'initramfs-shell.json');

function recorder(): Progress & { updates: ProgressUpdate[] } {
  const updates: ProgressUpdate[] = [];
  return { updates, report: (u) => updates.push(u), log: () => undefined };
}

describe('images read back from the packed file', () => {
  it('lists an initramfs as packed: busybox with its size, applet links, /dev nodes, /init', async () => {
    const { workspace, kernel } = await labKernel();
    const progress = recorder();
    const built = await new ImageBuilder(workspace).buildInitramfs(
      { init: { kind: 'shell' } },
      kernel.genInitCpio,
      undefined,
      progress,
    );
    // Progress is reported in order, from the first step.
    const fractions = progress.updates.map((u) => u.fraction ?? 0);
    expect(fractions[0]).toBeGreaterThan(0);
    expect([...fractions].sort((a, b) => a - b)).toEqual(fractions);

    const listing = await readInitramfs(built.path);
    const byPath = new Map(listing.entries.map((e) => [e.path, e]));
    expect(byPath.get('/bin/busybox')).toMatchObject({
      type: 'file',
      size: (await stat('/bin/busybox')).size,
    });
    expect(byPath.get('/bin/sh')).toMatchObject({ type: 'symlink', target: 'busybox' });
    expect(byPath.get('/dev/console')).toMatchObject({
      type: 'node',
      mode: 0o600,
      device: { kind: 'c', major: 5, minor: 1 },
    });
    expect(byPath.get('/dev/null')).toMatchObject({ device: { kind: 'c', major: 1, minor: 3 } });
    expect(byPath.get('/proc')).toMatchObject({ type: 'dir', mode: 0o755 });
    expect(listing.init).toBe(renderInit({ kind: 'shell' }));
    expect(listing.checks).toEqual([expect.objectContaining({ id: 'init', ok: true })]);
    // Every entry the builder planned is in the file, and nothing else.
    expect(listing.entries.map((e) => e.path)).toEqual(built.entries.map((e) => e.path));

    const captured: ImageSummary = { kind: 'initramfs', ...built, ...listing, createdAt: undefined };
    if (process.env.KDLAB_UPDATE_FIXTURES) {
      await mkdir(join(fixture, '..'), { recursive: true });
      const { createdAt: _c, ...rest } = captured;
      await writeFile(
        fixture,
        `${JSON.stringify({ ...rest, path: '/workspace/cache/initramfs/KEY/initramfs.cpio.gz' }, null, 1)}\n`,
      );
    }
    // The fixture the component tests use is this very image's listing.
    const saved = JSON.parse(await readFile(fixture, 'utf8')) as ImageSummary;
    expect(saved.entries).toEqual(listing.entries);
    expect(saved.init).toBe(listing.init);
  }, 120_000);

  it('lists a rootfs packed earlier with the contents it was unpacked from', async () => {
    const { workspace, kernel } = await labKernel();
    const progress = recorder();
    const rootfs = await new RootfsBuilder(workspace, new ImageBuilder(workspace)).build(
      { init: { kind: 'exit', code: 3 } },
      kernel.genInitCpio,
      undefined,
      progress,
    );
    expect(progress.updates.length).toBeGreaterThan(0);
    const packed = await listPackedImages(workspace);
    const entry = packed.find((p) => p.kind === 'rootfs' && p.key === rootfs.key);
    expect(entry).toMatchObject({ path: rootfs.path, size: rootfs.size, contentKey: rootfs.content.key });
    expect(packed.find((p) => p.kind === 'initramfs' && p.key === rootfs.content.key)).toBeDefined();
    // Newest first.
    const times = packed.map((p) => p.createdAt);
    expect([...times].sort().reverse()).toEqual(times);

    const described = await describePackedImage(workspace, 'rootfs', rootfs.key);
    expect(described.kind).toBe('rootfs');
    expect(described.init).toBe(renderInit({ kind: 'exit', code: 3 }));
    expect(described.entries.find((e) => e.path === '/bin/busybox')?.size).toBeGreaterThan(100_000);
    await expect(describePackedImage(workspace, 'rootfs', 'no-such-key')).rejects.toMatchObject({
      code: 'NOT_FOUND',
    });
  }, 180_000);

  it('packs a rootfs through the API as a job that reports progress, then lists and describes it', async () => {
    const { kernel } = await labKernel();
    const backend = await createLabBackend({
      mode: 'web',
      version: 'test',
      workspaceRoot: testWorkspaceRoot,
      appRoot,
    });
    const { ctx, call } = apiTestClient(() => backend);
    const updates: JobInfo[] = [];
    // The UI's view of the job: its job.updated events.
    const off = backend.events.attach({
      clientId: 'ui',
      emit: (event, payload) => {
        if (event === 'job.updated') updates.push(payload as JobInfo);
        ctx.emit(event, payload);
      },
    });
    // A size not packed before, so that mkfs.ext4 really runs; removed afterwards.
    const extraMiB = 8 + Math.floor(Math.random() * 100);
    let key: string | null = null;
    try {
      const image = await call<ImageSummary>('images.rootfs', { kernelKey: kernel.key, extraMiB });
      key = image.key;
      expect(image).toMatchObject({ kind: 'rootfs', cacheHit: false });
      expect(image.path).toMatch(/rootfs\.ext4$/);
      expect(image.entries.find((e) => e.path === '/dev/console')?.device).toEqual({
        kind: 'c',
        major: 5,
        minor: 1,
      });
      const messages = updates.filter((u) => u.kind === 'image').map((u) => u.progress.message);
      // The packing initramfs may be a cache hit; the ext4 steps are not (a fresh size). Job updates
      // are coalesced, so a quick step's message may be replaced by the next one before it is sent.
      expect(messages).toEqual(
        expect.arrayContaining([
          expect.stringMatching(/^(Writing a \d+ MiB ext4|Unpacking the contents|Adding device nodes)/),
        ]),
      );
      const fractions = updates.map((u) => u.progress.fraction ?? 0);
      expect([...fractions].sort((x, y) => x - y)).toEqual(fractions);
      const listed = await call<PackedImage[]>('images.list', {});
      expect(listed.find((i) => i.key === image.key)).toMatchObject({ kind: 'rootfs', size: image.size });
      const described = await call<ImageSummary>('images.contents', { kind: 'rootfs', key: image.key });
      expect(described.entries.map((e) => e.path)).toEqual(image.entries.map((e) => e.path));
    } finally {
      if (key) await rm(join(backend.workspace.cacheDir, 'rootfs', key), { recursive: true, force: true });
      off();
      await backend.dispose();
    }
  }, 180_000);
});
