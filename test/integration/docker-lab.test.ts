// The lab in Docker mode, for real: the lab kernel built inside the toolchain container (its own
// cache entry, not the host build's), a VM booted in a container with its serial console reached
// through an exec, gdb on the published stub from another container, a kdump captured in a
// container and read by crash in a container — and no kdlab container of this process left.
// Needs dockerd and kdlab/toolchain (kdlab images build toolchain); without them the tests fail.
import { stat } from 'node:fs/promises';
import { hostname } from 'node:os';
import { join } from 'node:path';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { analyzeVmcore } from '../../electron/lab/analyze/crash/analyzer';
import type { DockerEngine } from '../../electron/lab/docker/engine';
import { kdlabLabel, openDockerEngine } from '../../electron/lab/docker/engine';
import { DockerExecutor } from '../../electron/lab/exec/docker-executor';
import { runGdbBatch } from '../../electron/lab/gdb/gdb-session';
import { ImageBuilder } from '../../electron/lab/image/initramfs';
import { initMarker } from '../../electron/lab/image/init-templates';
import { JobManager } from '../../electron/lab/jobs';
import { KdumpCapture } from '../../electron/lab/kdump/kdump-capture';
import { KernelBuilder } from '../../electron/lab/kernel/kernel-builder';
import type { KernelArtifacts } from '../../electron/lab/kernel/kernel-builder';
import { findSources } from '../../electron/lab/kernel/sources';
import { VmRunner } from '../../electron/lab/vm/vm-runner';
import { SerialSocketSource } from '../../electron/lab/vm/serial-source';
import { Workspace } from '../../electron/lab/workspace';
import { appRoot } from '../helpers/build';
import { testWorkspaceRoot } from '../helpers/lab-kernel';

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
    image: 'kdlab/toolchain:latest',
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

  it('boots it in a container: serial console (an exec with socat when the image has it), gdb in another container on the stub', async () => {
    const image = await new ImageBuilder(workspace, executor).buildInitramfs(
      { init: { kind: 'shell' } },
      kernel.genInitCpio,
    );
    const vm = await new VmRunner(workspace, executor).boot({
      kernel: kernel.bzImage,
      initrd: image.path,
      gdb: { port: 'next-free' },
      markers: [{ name: 'init-ready', pattern: initMarker }],
    });
    try {
      expect(vm.executor).toBe(executor.describe());
      // Through an exec (socat) when the image has socat; else the shared socket of a local engine.
      if (await executor.which('socat')) expect(vm.serial).not.toBeInstanceOf(SerialSocketSource);
      else expect(vm.serial).toBeInstanceOf(SerialSocketSource);
      // One running container: QEMU (with its stub published), whatever short steps are still being removed.
      const running = (await ourContainers()).filter((c) => c.includes(' running '));
      expect(running).toEqual([
        expect.stringMatching(/qemu-system-x86_64 .*-gdb tcp:0\.0\.0\.0:\d+/) as string,
      ]);
      await vm.waitFor((m) => m.kind === 'marker' && m.detail === 'init-ready', 120_000);
      vm.sendKeys('echo "in-the-$((6*7))-guest"\r');
      await vm
        .waitFor(() => vm.consoleText.includes('in-the-42-guest'), 0)
        .catch(async () => {
          for (let i = 0; i < 100 && !vm.consoleText.includes('in-the-42-guest'); i += 1)
            await new Promise((r) => setTimeout(r, 100));
        });
      expect(vm.consoleText).toContain('in-the-42-guest');
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
