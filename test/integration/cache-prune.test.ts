// kdlab cache list / prune on a scratch workspace filled by the real code paths: initramfs images
// packed by ImageBuilder, kernel entries committed through CacheStore, a vmcore library entry, a
// lab pack's record, build folders named as KernelBuilder names them (one for a Docker image id the
// running dockerd does not have), a guest booted under QEMU, and temp folders of ended processes.
import { execFile } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { link, mkdir, readFile, readdir, rm, stat, utimes, writeFile } from 'node:fs/promises';
import { fileURLToPath } from 'node:url';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { main } from '../../electron/cli/main';
import { pruneWorkspace } from '../../electron/lab/cache-prune';
import type { PruneOptions } from '../../electron/lab/cache-prune';
import { scanWorkspace } from '../../electron/lab/cache-usage';
import { openDockerEngine } from '../../electron/lab/docker/engine';
import { ImageBuilder } from '../../electron/lab/image/initramfs';
import type { InitramfsImage } from '../../electron/lab/image/initramfs';
import type { Progress } from '../../electron/lab/jobs';
import { VmcoreLibrary } from '../../electron/lab/kdump/vmcore-library';
import type { KernelArtifacts } from '../../electron/lab/kernel/kernel-builder';
import { VmRunner } from '../../electron/lab/vm/vm-runner';
import { Workspace, writeJsonAtomic } from '../../electron/lab/workspace';
import type { CacheManifest } from '../../electron/lab/workspace';
import { labKernel } from '../helpers/lab-kernel';
import { makeTempDir } from '../helpers/temp';

const run = promisify(execFile);
const appRoot = fileURLToPath(new URL('../..', import.meta.url));
const day = 86_400_000;

let scratch: string;
let ws: Workspace;
let kernel: KernelArtifacts;
let oldImage: InitramfsImage;
let newImage: InitramfsImage;
const keys = { vmcoreKernel: 'a'.repeat(32), orphanKernel: 'b'.repeat(32), packProgram: 'c'.repeat(32) };
let goneBuild: string;
let presentBuild: string;
let oldHostBuild: string;
let deadTmp: string;
let liveTmp: string;
let oldLog: string;
let newLog: string;

/** Sets every file's and folder's times `days` back (a cache entry's manifest createdAt too). */
async function age(path: string, days: number): Promise<void> {
  const when = new Date(Date.now() - days * day);
  const manifestFile = join(path, 'manifest.json');
  const manifest = JSON.parse(
    await readFile(manifestFile, 'utf8').catch(() => 'null'),
  ) as CacheManifest | null;
  if (manifest) await writeJsonAtomic(manifestFile, { ...manifest, createdAt: when.toISOString() });
  const walk = async (p: string) => {
    const info = await stat(p);
    if (info.isDirectory()) for (const name of await readdir(p)) await walk(join(p, name));
    await utimes(p, when, when);
  };
  await walk(path);
}

function collect(onReport?: (message: string) => void): Progress & { lines: string[] } {
  const lines: string[] = [];
  return {
    lines,
    report: (u) => {
      if (u.message) onReport?.(u.message);
    },
    log: (text) => lines.push(text),
  };
}

const prune = (options: PruneOptions = {}, signal = new AbortController().signal, progress = collect()) =>
  pruneWorkspace(ws, { olderThanDays: 30, ...options }, progress, signal);

const exists = async (path: string) => (await stat(path).catch(() => null)) !== null;

async function cli(argv: string[]) {
  let stdout = '';
  let stderr = '';
  const stream = (f: (s: string) => void) =>
    ({ write: (s: string) => (f(s), true), isTTY: false }) as unknown as NodeJS.WriteStream;
  const code = await main(argv, {
    appRoot,
    stdout: stream((s) => (stdout += s)),
    stderr: stream((s) => (stderr += s)),
    env: { ...process.env, KDLAB_HOME: ws.root },
  });
  return { code, stdout, stderr };
}

async function commitKernel(key: string): Promise<void> {
  await ws.cache('kernels').commit(key, { kind: 'test-kernel' }, async (dir) => {
    await writeFile(join(dir, 'vmlinux'), randomBytes(256 * 1024));
    await writeFile(
      join(dir, 'kernel.json'),
      JSON.stringify({
        sourceHash: 'f'.repeat(32),
        base: 'tinyconfig',
        fragments: [],
        kernelRelease: '6.1.0-test',
      }),
    );
    return ['vmlinux', 'kernel.json'];
  });
}

beforeAll(async () => {
  ({ kernel } = await labKernel());
  scratch = await makeTempDir();
  ws = await Workspace.open(join(scratch, 'ws'));
  if (
    !(await run('docker', ['info']).then(
      () => true,
      () => false,
    ))
  )
    await run('bash', [join(appRoot, 'scripts/dockerd.sh')]);

  // Two real initramfs images; one of them last used two months ago.
  const images = new ImageBuilder(ws);
  oldImage = await images.buildInitramfs({ init: { kind: 'shell' } }, kernel.genInitCpio);
  newImage = await images.buildInitramfs({ init: { kind: 'exit', code: 3 } }, kernel.genInitCpio);
  await age(join(ws.cacheDir, 'initramfs', oldImage.key), 60);

  // Two old kernels: a stored vmcore needs one of them.
  await commitKernel(keys.vmcoreKernel);
  await commitKernel(keys.orphanKernel);
  const library = new VmcoreLibrary(ws);
  const id = library.newId();
  const staging = await library.stage(id);
  await writeFile(join(staging, 'vmcore'), randomBytes(64 * 1024));
  await library.commit(staging, {
    id,
    kernelRelease: '6.1.0-test',
    buildId: null,
    kernelKey: keys.vmcoreKernel,
    vmlinux: join(ws.cache('kernels').entryDir(keys.vmcoreKernel), 'vmlinux'),
    createdAt: new Date().toISOString(),
    method: 'dump-guest-memory',
    format: 'elf',
    trigger: { kind: 'manual' },
    dumpLevel: null,
    size: 64 * 1024,
    guestMemoryMiB: 512,
    crashkernelMiB: null,
    panic: null,
    timings: { bootToPanicMs: null, panicToHostMs: null },
  });
  await age(join(ws.cacheDir, 'kernels', keys.vmcoreKernel), 90);
  await age(join(ws.cacheDir, 'kernels', keys.orphanKernel), 90);

  // A program a lab pack installed, recorded as LabPacks.import records it.
  await ws.cache('programs').commit(keys.packProgram, { kind: 'test-program' }, async (dir) => {
    await writeFile(join(dir, 'init'), randomBytes(4096));
    return ['init'];
  });
  await age(join(ws.cacheDir, 'programs', keys.packProgram), 90);
  await writeJsonAtomic(join(ws.stateDir, 'packs', 'class.tar.gz.json'), {
    format: 1,
    createdAt: new Date().toISOString(),
    recipes: [],
    kernels: [],
    modules: [],
    programs: [{ key: keys.packProgram, sourceKey: 'd'.repeat(32) }],
    files: {},
  });

  // Build folders as KernelBuilder names them: Docker ones carry 12 hex digits of the image id.
  const engine = await openDockerEngine();
  const ids = (await engine.docker.listImages({ all: true })).map((i) => i.Id.replace(/^sha256:/, ''));
  expect(ids.length).toBeGreaterThan(0);
  let gone = randomBytes(6).toString('hex');
  while (ids.some((i) => i.startsWith(gone))) gone = randomBytes(6).toString('hex');
  goneBuild = join(ws.root, 'build', `kernel-0123456789ab-tinyconfig-docker-${gone}`);
  presentBuild = join(ws.root, 'build', `kernel-0123456789ab-tinyconfig-docker-${ids[0]!.slice(0, 12)}`);
  oldHostBuild = join(ws.root, 'build', 'kernel-0123456789ab-defconfig');
  for (const dir of [goneBuild, presentBuild, oldHostBuild]) {
    await mkdir(join(dir, 'init'), { recursive: true });
    await writeFile(join(dir, 'init', 'main.o'), randomBytes(1024 * 1024));
  }
  // A hard link is counted once.
  await link(join(oldHostBuild, 'init', 'main.o'), join(oldHostBuild, 'init', 'main-copy.o'));
  await age(oldHostBuild, 45);

  // Temp folders of an ended process and of this one; job logs old and new.
  const { pid } = await new Promise<{ pid: number }>((resolve) => {
    const child = execFile('true');
    child.on('exit', () => resolve({ pid: child.pid! }));
  });
  deadTmp = join(ws.tmpDir, `initramfs-${pid}-${Date.now()}-1`);
  liveTmp = join(ws.tmpDir, `initramfs-${process.pid}-${Date.now()}-1`);
  for (const dir of [deadTmp, liveTmp]) {
    await mkdir(dir, { recursive: true });
    await writeFile(join(dir, 'init'), 'x');
  }
  oldLog = join(ws.jobsDir, 'old.log');
  newLog = join(ws.jobsDir, 'new.log');
  await writeFile(oldLog, 'old job\n');
  await writeFile(newLog, 'new job\n');
  await age(oldLog, 45);
}, 1_800_000);

afterAll(async () => {
  if (scratch) await rm(scratch, { recursive: true, force: true });
});

const expectedRemovals = () =>
  [
    join(ws.cacheDir, 'initramfs', oldImage.key),
    join(ws.cacheDir, 'kernels', keys.orphanKernel),
    goneBuild,
    oldHostBuild,
    oldLog,
    deadTmp,
  ].sort();

describe('kdlab cache list and prune', () => {
  it('lists sizes, references, build folders and their Docker images, and what protects what', async () => {
    const usage = await scanWorkspace(ws);
    const find = (path: string) => usage.entries.find((e) => e.path === path)!;
    expect(usage.docker.reachable).toBe(true);
    expect(find(goneBuild).build).toMatchObject({
      executor: { dockerImage: expect.any(String) },
      imageExists: false,
    });
    expect(find(presentBuild).build?.imageExists).toBe(true);
    expect(find(oldHostBuild).build?.executor).toBe('host');
    // 1 MiB plus its hard link: counted once (plus the folders' blocks).
    expect(find(oldHostBuild).bytes).toBeGreaterThanOrEqual(1024 * 1024);
    expect(find(oldHostBuild).bytes).toBeLessThan(1.5 * 1024 * 1024);
    const protectedKernel = find(join(ws.cacheDir, 'kernels', keys.vmcoreKernel));
    expect(protectedKernel.protectedBy.join()).toMatch(/^vmcore .* needs this kernel for analysis$/);
    expect(find(join(ws.cacheDir, 'programs', keys.packProgram)).protectedBy).toEqual([
      'installed by lab pack class.tar.gz',
    ]);
    const old = find(join(ws.cacheDir, 'initramfs', oldImage.key));
    expect(old.valid).toBe(true);
    expect(Date.now() - Date.parse(old.lastUsedAt!)).toBeGreaterThan(59 * day);
    expect(Date.parse(old.createdAt!)).toBeLessThan(Date.now() - 59 * day);
    expect(find(liveTmp).leftover).toMatchObject({ ownerPid: process.pid, ownerAlive: true });
    expect(find(deadTmp).leftover?.ownerAlive).toBe(false);

    const text = await cli(['cache', 'list', '--all']);
    expect(text.code).toBe(0);
    expect(text.stdout).toMatch(/^build\s+kernel\s+3\s/m);
    expect(text.stdout).toContain('GONE');
    const json = await cli(['cache', 'list', '--json']);
    expect((JSON.parse(json.stdout) as { entries: unknown[] }).entries).toHaveLength(usage.entries.length);
  });

  it('a dry run names what would go and how much, and removes nothing', async () => {
    const before = await scanWorkspace(ws, { docker: 'off' });
    const result = await prune({ dryRun: true });
    expect(result.removed.map((r) => r.path).sort()).toEqual(expectedRemovals());
    expect(result.bytes).toBe(result.removed.reduce((s, r) => s + r.bytes, 0));
    expect(result.bytes).toBeGreaterThan(2 * 1024 * 1024);
    const after = await scanWorkspace(ws, { docker: 'off' });
    expect(after.entries.map((e) => [e.path, e.bytes])).toEqual(before.entries.map((e) => [e.path, e.bytes]));
    const text = await cli(['cache', 'prune', '--dry-run']);
    expect(text.code).toBe(0);
    expect(text.stdout).toMatch(/6 entries would be removed/);
    expect(text.stdout).toMatch(/no longer on the engine/);
  });

  it('refuses while other work runs in the same back end', async () => {
    await expect(prune({ busy: () => ['job "Building the kernel"'] })).rejects.toMatchObject({
      code: 'UNAVAILABLE',
      message: expect.stringContaining('job "Building the kernel"'),
    });
    expect(await exists(goneBuild)).toBe(true);
  });

  it('keeps what a running guest uses, and lets it go once the guest is off', async () => {
    const vm = await new VmRunner(ws).boot({
      kernel: kernel.bzImage,
      initrd: oldImage.path,
      accel: 'tcg',
      markers: [{ name: 'ready', pattern: 'KDLAB-INIT-READY' }],
    });
    try {
      await vm.waitFor((m) => m.kind === 'marker' && m.detail === 'ready', 60_000);
      const during = await prune({ dryRun: true });
      expect(during.removed.map((r) => r.path)).not.toContain(join(ws.cacheDir, 'initramfs', oldImage.key));
      const usage = await scanWorkspace(ws, { docker: 'off' });
      expect(usage.entries.find((e) => e.key === oldImage.key)!.protectedBy).toEqual([
        `in use by running guest ${vm.id}`,
      ]);
    } finally {
      await vm.powerOff();
      await vm.exited;
    }
    // QEMU read the image: its access time makes it recently used (relatime updates a day-old atime).
    const used = (await scanWorkspace(ws, { docker: 'off' })).entries.find((e) => e.key === oldImage.key)!;
    expect(Date.now() - Date.parse(used.lastUsedAt!)).toBeLessThan(3_600_000);
    await age(join(ws.cacheDir, 'initramfs', oldImage.key), 60);
    const after = await prune({ dryRun: true });
    expect(after.removed.map((r) => r.path)).toContain(join(ws.cacheDir, 'initramfs', oldImage.key));
  });

  it('an interrupted prune leaves every entry whole or gone, never half', async () => {
    const controller = new AbortController();
    const progress = collect((message) => {
      if (message.startsWith('Removed 1 of')) controller.abort();
    });
    await expect(prune({}, controller.signal, progress)).rejects.toMatchObject({ code: 'CANCELLED' });
    const gone = [];
    for (const path of expectedRemovals()) if (!(await exists(path))) gone.push(path);
    // Entries go in scan order (cache kinds by name): the aged image first, then the cancel.
    expect(gone).toEqual([join(ws.cacheDir, 'initramfs', oldImage.key)]);
    // Cache entries still in place are complete: CacheStore.lookup trusts them as before.
    expect(await ws.cache('kernels').lookup(keys.orphanKernel)).not.toBeNull();
    expect(await ws.cache('initramfs').lookup(oldImage.key)).toBeNull();
    expect((await readdir(ws.tmpDir)).filter((n) => n.startsWith('prune-'))).toEqual([]);
  });

  it('prunes the rest and keeps the protected and the recent', async () => {
    const result = await prune();
    expect(result.removed.map((r) => r.path).sort()).toEqual(
      expectedRemovals().filter((p) => p !== join(ws.cacheDir, 'initramfs', oldImage.key)),
    );
    for (const path of expectedRemovals()) expect(await exists(path)).toBe(false);
    expect(await ws.cache('kernels').lookup(keys.orphanKernel)).toBeNull();
    expect(await ws.cache('kernels').lookup(keys.vmcoreKernel)).not.toBeNull();
    expect(await ws.cache('programs').lookup(keys.packProgram)).not.toBeNull();
    expect(await ws.cache('initramfs').lookup(newImage.key)).not.toBeNull();
    for (const path of [presentBuild, liveTmp, newLog]) expect(await exists(path)).toBe(true);
    expect((await new VmcoreLibrary(ws).list()).length).toBe(1);
    expect((await readdir(ws.tmpDir)).filter((n) => n.startsWith('prune-'))).toEqual([]);

    const again = await cli(['cache', 'prune', '--json']);
    expect(again.code).toBe(0);
    expect(JSON.parse(again.stdout)).toMatchObject({ removed: [], bytes: 0, dryRun: false });
  });
});
