// The lab in Docker mode, for real: the lab kernel built inside the toolchain container (its own
// cache entry, not the host build's), a VM booted in a container with its serial console reached
// through an exec, gdb on the published stub from another container, images packed with the lab
// image's own busybox and tools, a kdump captured in a container and read by crash in a container —
// and no kdlab container of this process left.
// Needs dockerd and kdlab/toolchain (kdlab images build toolchain); without them the tests fail.
import { execFile } from 'node:child_process';
import { appendFile, cp, mkdir, readFile, readdir, rm, stat, symlink } from 'node:fs/promises';
import { hostname } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { analyzeVmcore } from '../../electron/lab/analyze/crash/analyzer';
import type { DockerEngine } from '../../electron/lab/docker/engine';
import { kdlabLabel, openDockerEngine } from '../../electron/lab/docker/engine';
import { DockerExecutor, ExecTerminalSource } from '../../electron/lab/exec/docker-executor';
import { runGdbBatch } from '../../electron/lab/gdb/gdb-session';
import { ImageBuilder } from '../../electron/lab/image/initramfs';
import { initMarker } from '../../electron/lab/image/init-templates';
import { JobManager } from '../../electron/lab/jobs';
import { KdumpCapture } from '../../electron/lab/kdump/kdump-capture';
import { KernelBuilder } from '../../electron/lab/kernel/kernel-builder';
import { ModuleBuilder } from '../../electron/lab/kernel/module-builder';
import { LabError } from '../../electron/common/errors';
import type { KernelArtifacts } from '../../electron/lab/kernel/kernel-builder';
import { findSources } from '../../electron/lab/kernel/sources';
import { VmRunner } from '../../electron/lab/vm/vm-runner';
import { sha256File, Workspace } from '../../electron/lab/workspace';
import { appRoot } from '../helpers/build';
import { testWorkspaceRoot } from '../helpers/lab-kernel';
import { waitFor, withTempDir } from '../helpers/temp';

const run = promisify(execFile);
const image = 'kdlab/toolchain:latest';

let engine: DockerEngine;
let workspace: Workspace;
let executor: DockerExecutor;
let jobs: JobManager;
let kernel: KernelArtifacts;

async function ourContainers(): Promise<string[]> {
  const list = await engine.docker.listContainers({
    all: true,
    filters: { label: [`${kdlabLabel}=true`, `io.kdlab.owner=${hostname()}:${process.pid}`] },
  });
  return list.map((c) => `${c.Names.join(',')} ${c.State} ${c.Command}`);
}

async function expectNoContainers(): Promise<void> {
  for (let i = 0; i < 50; i += 1) {
    if ((await ourContainers()).length === 0) return;
    await new Promise((r) => setTimeout(r, 200));
  }
  expect(await ourContainers()).toEqual([]);
}

beforeAll(async () => {
  engine = await openDockerEngine();
  workspace = await Workspace.open(testWorkspaceRoot);
  jobs = new JobManager({ logDir: workspace.jobsDir });
  executor = await DockerExecutor.create({
    engine,
    image,
    workspace: workspace.root,
    job: 'docker-lab-test',
  });
  await executor.cleanupLeftovers();
});

afterEach(async () => {
  await expectNoContainers();
});

afterAll(async () => {
  await executor?.dispose();
});

describe('the lab in Docker mode', () => {
  it(
    'builds the lab kernel inside the toolchain container, as its own cache entry',
    async () => {
      const source = (await findSources()).find((s) => s.version === '6.1');
      if (!source) throw new Error('linux-source-6.1 is not installed: run scripts/setup.sh');
      const builder = new KernelBuilder(workspace, join(appRoot, 'lab-images', 'kconfig'), executor);
      kernel = await jobs.withProgress(
        { title: `Lab kernel (${executor.describe()})`, kind: 'kernel-build' },
        (progress, signal) =>
          builder.build(
            {
              source: source.path,
              base: 'tinyconfig',
              fragments: ['kgdb', 'kdump', 'debuginfo', 'qemu-virt', 'modules'],
            },
            progress,
            signal,
          ),
      );
      expect(kernel.manifest.executor).toBe(executor.describe());
      expect(kernel.manifest.buildDir).toMatch(/-docker-[0-9a-f]{12}$/);
      expect(kernel.manifest.toolchain.gcc).toMatch(/gcc/);
      expect(kernel.manifest.buildId).toMatch(/^[0-9a-f]{40}$/);
      // Files the container wrote belong to the user who ran kdlab.
      const info = await stat(join(kernel.manifest.buildDir!, 'vmlinux'));
      expect(info.uid).toBe(process.getuid!());
      // The host build of the same request is another entry: neither is a cache hit of the other.
      const hostBuilder = new KernelBuilder(workspace, join(appRoot, 'lab-images', 'kconfig'));
      const hostDir = hostBuilder.buildDirFor(kernel.manifest.sourceHash, 'tinyconfig');
      expect(hostDir).not.toBe(kernel.manifest.buildDir);
      const hostKernels = (await hostBuilder.list()).filter(
        (k) => k.manifest.executor !== kernel.manifest.executor,
      );
      expect(hostKernels.map((k) => k.key)).not.toContain(kernel.key);
    },
    40 * 60_000,
  );

  it('configures against a source tree mounted read-only (kbuild writes only into the build folder)', async () => {
    // A fresh workspace whose unpacked sources are the test workspace's, mounted read-only into the
    // container, as the bench does: merge_config.sh and olddefconfig must not write into the tree.
    await withTempDir(async (dir) => {
      const fresh = await Workspace.open(join(dir, 'ws'));
      await mkdir(fresh.cacheDir, { recursive: true });
      await symlink(join(workspace.cacheDir, 'sources'), join(fresh.cacheDir, 'sources'));
      const readOnly = await DockerExecutor.create({
        engine,
        image,
        workspace: fresh.root,
        readOnly: [workspace.cacheDir],
        job: 'docker-lab-test-ro',
      });
      try {
        const source = (await findSources()).find((s) => s.version === '6.1')!;
        const builder = new KernelBuilder(fresh, join(appRoot, 'lab-images', 'kconfig'), readOnly);
        // INET=n drops 9P_FS: the build stops after configuring, with the verification's verdict.
        const error = await jobs
          .withProgress({ title: 'read-only tree', kind: 'kernel-build' }, (progress, signal) =>
            builder.build(
              {
                source: source.path,
                base: 'tinyconfig',
                fragments: ['kgdb', 'kdump', 'debuginfo', 'qemu-virt', 'modules'],
                extra: { INET: 'n' },
              },
              progress,
              signal,
            ),
          )
          .catch((e: unknown) => e);
        expect(error).toMatchObject({ code: 'BAD_REQUEST' });
        expect((error as Error).message).toMatch(/CONFIG_9P_FS \(from qemu-virt\): wanted y, got not set/);
      } finally {
        await readOnly.dispose();
      }
    });
  }, 600_000);

  it('a module build whose container is killed mid-build fails saying so; nothing is cached, the next build works', async () => {
    // A source no earlier run has cached (a nonce), and no prepared module tree, so that the first
    // container is the long modules_prepare: it is the one killed.
    await withTempDir(async (dir) => {
      const source = join(dir, 'null-deref');
      await cp(join(appRoot, 'lab-images/modules/null-deref'), source, { recursive: true });
      await appendFile(join(source, 'kdlab_null_deref.c'), `/* ${process.pid}-${Date.now()} */\n`);
      const tree = join(workspace.root, 'build', `modules-${kernel.key.slice(0, 16)}`);
      await rm(tree, { recursive: true, force: true });
      const modules = new ModuleBuilder(workspace, executor);
      const build = () =>
        jobs.withProgress({ title: 'Module (docker)', kind: 'module-build' }, (progress, signal) =>
          modules.build(kernel, source, progress, signal),
        );

      const building = build().then(
        () => null,
        (error: unknown) => error,
      );
      let killed = '';
      while (!killed) {
        const list = await engine.docker.listContainers({
          filters: { label: [`${kdlabLabel}=true`, `io.kdlab.owner=${hostname()}:${process.pid}`] },
        });
        const make = list.find((c) => c.Command.includes('modules_prepare'));
        if (make) {
          await run('docker', ['kill', make.Id]);
          killed = make.Id;
        } else await new Promise((r) => setTimeout(r, 50));
      }
      const error = await building;
      expect(error).toBeInstanceOf(LabError);
      expect(error).toMatchObject({
        code: 'IO',
        message: expect.stringMatching(
          new RegExp(
            `^make did not finish: its container ${killed.slice(0, 12)} was killed \\(SIGKILL, exit 137\\)`,
          ),
        ) as string,
        hint: expect.stringMatching(/caches only finished steps: run it again/) as string,
      });
      // Consistent afterwards: the half-prepared tree is gone, no cache entry names this source.
      expect(await stat(tree).catch(() => null)).toBeNull();
      // The manifest records the sources by hash; the nonce makes ours unique.
      const nonceHash = await sha256File(join(source, 'kdlab_null_deref.c'));
      const cacheDir = workspace.cache('modules').dir;
      const ours = [];
      for (const entry of await readdir(cacheDir)) {
        const manifest = await readFile(join(cacheDir, entry, 'manifest.json'), 'utf8').catch(() => '');
        if (manifest.includes(kernel.key) && manifest.includes(nonceHash)) ours.push(entry);
      }
      expect(ours).toEqual([]);

      const [mod] = await build();
      expect(mod).toMatchObject({ name: 'kdlab_null_deref.ko', cacheHit: false });
      expect(mod!.vermagic?.split(' ')[0]).toBe(kernel.manifest.kernelRelease);
      expect((await build())[0]!.cacheHit).toBe(true);
    });
  }, 600_000);

  it("packs an initramfs from the lab image's busybox and tools, not the host's", async () => {
    // socat is in the image and not on this host: it can only have come from the container.
    await expect(run('sh', ['-c', 'command -v socat'])).rejects.toThrow();
    const packed = await new ImageBuilder(workspace, executor).buildInitramfs(
      { init: { kind: 'shell' }, tools: ['/usr/bin/socat'] },
      kernel.genInitCpio,
    );
    const where = executor.describe();
    const source = (path: string) => packed.entries.find((e) => e.path === path)?.source;
    expect(source('/bin/busybox')).toBe(`/bin/busybox in ${where}`);
    expect(source('/usr/bin/socat')).toBe(`/usr/bin/socat in ${where}`);
    // Its libraries (ldd in the container) at their real paths, the lib names as links to them.
    expect(source('/usr/lib/x86_64-linux-gnu/libwrap.so.0.7.6')).toMatch(/ in docker /);
    expect(packed.entries.find((e) => e.path === '/lib/x86_64-linux-gnu/libwrap.so.0')).toMatchObject({
      type: 'symlink',
      target: '/usr/lib/x86_64-linux-gnu/libwrap.so.0.7.6',
    });
    expect(packed.checks.filter((c) => !c.ok && c.severity === 'error')).toEqual([]);

    // The packed bytes are the container's: unpack with cpio and compare with sha256sum inside.
    const local = await withTempDir(async (out) => {
      await run('sh', ['-c', 'gzip -dc "$1" | cpio -idm --quiet -D "$2"', 'sh', packed.path, out]);
      return (await run('sha256sum', [join(out, 'bin/busybox'), join(out, 'usr/bin/socat')])).stdout;
    });
    const listed = (await run('sh', ['-c', 'gzip -dc "$1" | cpio -t --quiet', 'sh', packed.path])).stdout;
    expect(listed.split('\n')).toEqual(
      expect.arrayContaining(['bin/busybox', 'usr/bin/socat', 'lib64/ld-linux-x86-64.so.2', 'init']),
    );
    const inside = (
      await run('docker', ['run', '--rm', image, 'sha256sum', '/bin/busybox', '/usr/bin/socat'])
    ).stdout;
    const sums = (text: string) =>
      text
        .split('\n')
        .filter(Boolean)
        .map((l) => l.split(/\s+/)[0]);
    expect(sums(local)).toEqual(sums(inside));
    // The staging copies are gone.
    const staged = (await readdir(workspace.tmpDir)).filter((n) => n.startsWith(`initramfs-${process.pid}-`));
    expect(staged).toEqual([]);
  });

  it('boots it in a container: serial console through an exec (socat), gdb in another container on the stub', async () => {
    const initrd = await new ImageBuilder(workspace, executor).buildInitramfs(
      { init: { kind: 'shell' } },
      kernel.genInitCpio,
    );
    const vm = await new VmRunner(workspace, executor).boot({
      kernel: kernel.bzImage,
      initrd: initrd.path,
      gdb: { port: 'next-free' },
      markers: [{ name: 'init-ready', pattern: initMarker }],
    });
    try {
      expect(vm.executor).toBe(executor.describe());
      // One running container: QEMU (with its stub published), whatever short steps are still being removed.
      const running = await engine.docker.listContainers({
        filters: { label: [`${kdlabLabel}=true`, `io.kdlab.owner=${hostname()}:${process.pid}`] },
      });
      expect(running.map((c) => c.Command)).toEqual([
        expect.stringMatching(/qemu-system-x86_64 .*-gdb tcp:0\.0\.0\.0:\d+/) as string,
      ]);
      // The console is an exec in QEMU's container: socat on QEMU's serial socket, raw.
      expect(vm.serial).toBeInstanceOf(ExecTerminalSource);
      const serial = vm.serial as ExecTerminalSource;
      expect(serial.containerId).toBe(running[0]!.Id);
      expect(serial.describe()).toMatch(
        /^exec socat STDIO,raw,echo=0 UNIX-CONNECT:\S+\/serial\.sock in container [0-9a-f]{12}$/,
      );
      await vm.waitFor((m) => m.kind === 'marker' && m.detail === 'init-ready', 120_000);
      // Typed into the exec, answered by the guest's shell through it (the echo shows the unexpanded line).
      vm.sendKeys('echo "in-the-$((6*7))-guest"\r');
      await waitFor(() => /\nin-the-42-guest/.test(vm.consoleText), 30_000).catch(() => undefined);
      expect(vm.consoleText).toMatch(/\nin-the-42-guest/);
      const gdb = await runGdbBatch(
        { vmlinux: kernel.vmlinux, gdbScript: kernel.gdbScript, port: vm.gdbPort! },
        ['p init_uts_ns.name.release'],
        { executor, timeoutMs: 120_000 },
      );
      expect(gdb.output).toContain(kernel.manifest.kernelRelease);
    } finally {
      await vm.powerOff();
    }
  }, 300_000);

  it('captures a kdump in a container and crash (in a container) reads the panic', async () => {
    const captured = await jobs.withProgress(
      { title: 'Capture (docker)', kind: 'capture' },
      (progress, signal) =>
        new KdumpCapture(workspace, executor).capture(
          { kernel, trigger: { kind: 'sysrq' } },
          progress,
          signal,
        ),
    );
    expect(captured.meta).toMatchObject({ panic: 'sysrq triggered crash', executor: executor.describe() });
    const report = await jobs.withProgress(
      { title: 'Analyze (docker)', kind: 'analyze' },
      (progress, signal) =>
        analyzeVmcore(
          { vmcore: captured.vmcore, vmlinux: kernel.vmlinux, executor, reuse: false },
          progress,
          signal,
        ),
    );
    expect(report.summary.panic).toMatch(/sysrq triggered crash/);
    // sysrq → panic → __crash_kexec → machine_kexec, read by the container's crash.
    expect(report.backtrace.frames.map((f) => f.function)).toEqual(
      expect.arrayContaining(['machine_kexec', '__crash_kexec', 'panic']),
    );
  }, 600_000);
});
