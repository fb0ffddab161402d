// Long-lived kdlab processes in Docker whose container is killed from outside (docker kill, docker
// rm -f): QEMU of a guest, and exec terminals (gdb, a shell). They must end saying which container
// was killed from outside and what to do, as data (VmExit.reason, the terminal's exit reason) —
// and a stop kdlab sends itself (power off, stop, closing a terminal) must not be reported so.
// Real dockerd, real QEMU in kdlab/toolchain, the lab kernel; no kdlab container of this test is left.
import { hostname } from 'node:os';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import type { LabErrorData } from '../../electron/common/errors';
import type { DockerEngine } from '../../electron/lab/docker/engine';
import { kdlabLabel, openDockerEngine } from '../../electron/lab/docker/engine';
import { DockerExecutor, ExecTerminalSource } from '../../electron/lab/exec/docker-executor';
import type { LabTerminalExit } from '../../electron/lab/exec/executor';
import { disposeWithTerminal } from '../../electron/lab/exec/terminal-lease';
import { ImageBuilder } from '../../electron/lab/image/initramfs';
import { initMarker } from '../../electron/lab/image/init-templates';
import type { KernelArtifacts } from '../../electron/lab/kernel/kernel-builder';
import type { TerminalSource } from '../../electron/lab/terminals/terminal-source';
import { VmRunner } from '../../electron/lab/vm/vm-runner';
import type { RunningVm } from '../../electron/lab/vm/vm-runner';
import type { Workspace } from '../../electron/lab/workspace';
import { labKernel } from '../helpers/lab-kernel';
import { waitFor } from '../helpers/temp';

const image = 'kdlab/toolchain:latest';
const owner = `${hostname()}:${process.pid}`;
const vmJob = `killed-vm-${process.pid}`;
const termJob = `killed-term-${process.pid}`;

let engine: DockerEngine;
let workspace: Workspace;
let kernel: KernelArtifacts;
let executor: DockerExecutor;
let initrd: string;

/** This test's kdlab containers, running or not. */
async function ours(job?: string): Promise<{ id: string; command: string }[]> {
  const list = await engine.docker.listContainers({
    all: true,
    filters: {
      label: [`${kdlabLabel}=true`, `io.kdlab.owner=${owner}`, ...(job ? [`io.kdlab.job=${job}`] : [])],
    },
  });
  return list.map((c) => ({ id: c.Id, command: c.Command }));
}

async function expectNoContainers(): Promise<void> {
  for (let i = 0; i < 50 && (await ours()).length > 0; i += 1) await new Promise((r) => setTimeout(r, 200));
  expect(await ours()).toEqual([]);
}

/** The one running container of a job, once it is listed. */
async function containerOf(job: string, command: RegExp): Promise<string> {
  let id = '';
  for (let i = 0; i < 300 && !id; i += 1) {
    id = (await ours(job)).find((c) => command.test(c.command))?.id ?? '';
    if (!id) await new Promise((r) => setTimeout(r, 100));
  }
  if (!id) throw new Error(`no ${String(command)} container of ${job}`);
  return id;
}

const outsideKill = (command: string, id: string) =>
  new RegExp(
    `^${command} stopped: its container ${id.slice(0, 12)} (was killed \\(SIGKILL, exit 137\\) from outside kdlab|disappeared before it could report an exit status — removed from outside kdlab)`,
  );

const kills: [string, (id: string) => Promise<unknown>][] = [
  ['docker kill', (id) => engine.docker.getContainer(id).kill()],
  ['docker rm -f', (id) => engine.docker.getContainer(id).remove({ force: true })],
];

function exitOf(source: TerminalSource): Promise<LabTerminalExit> {
  return new Promise((resolve) => source.onExit((exit) => resolve(exit)));
}

function textOf(source: TerminalSource): () => string {
  let text = '';
  const decoder = new TextDecoder();
  source.onData((c) => (text += typeof c === 'string' ? c : decoder.decode(c, { stream: true })));
  return () => text;
}

async function bootGuest(): Promise<RunningVm> {
  const vm = await new VmRunner(workspace, executor).boot({
    kernel: kernel.bzImage,
    initrd,
    markers: [{ name: 'init-ready', pattern: initMarker }],
  });
  await vm.waitFor((m) => m.kind === 'marker' && m.detail === 'init-ready', 120_000);
  return vm;
}

beforeAll(async () => {
  engine = await openDockerEngine();
  ({ workspace, kernel } = await labKernel());
  executor = await DockerExecutor.create({ engine, image, workspace: workspace.root, job: vmJob });
  // Packed on the host: which busybox the guest runs does not matter here, QEMU's container does.
  initrd = (await new ImageBuilder(workspace).buildInitramfs({ init: { kind: 'shell' } }, kernel.genInitCpio))
    .path;
}, 1_800_000);

afterEach(async () => {
  await expectNoContainers();
});

afterAll(async () => {
  await executor?.dispose();
});

describe('a guest whose QEMU container is killed from outside', () => {
  for (const [how, kill] of kills) {
    it(`${how}: the guest ends with the reason, naming the container; the console's exit says it too`, async () => {
      const vm = await bootGuest();
      try {
        expect(vm.serial).toBeInstanceOf(ExecTerminalSource);
        const id = (vm.serial as ExecTerminalSource).containerId;
        expect((await ours(vmJob)).map((c) => c.id)).toEqual([id]);
        const serialExit = exitOf(vm.serial);
        // What a job waiting on the guest (kdump capture) gets: the reason, not "QEMU exited".
        const waiting = vm
          .waitFor((m) => m.kind === 'marker' && m.detail === 'never', 300_000)
          .then(
            () => null,
            (error: unknown) => error as LabErrorData,
          );
        await kill(id);
        const exit = await vm.exited;
        expect(exit.reason).toMatchObject({
          code: 'IO',
          message: expect.stringMatching(outsideKill('qemu-system-x86_64', id)) as string,
          hint: expect.stringMatching(
            /^Start it again.*docker events --since 1h --filter container=[0-9a-f]{12}.*docker stats/,
          ) as string,
        });
        expect(exit.reason?.message).toContain(executor.describe());
        expect(exit.stderr).not.toBe('QEMU could not start');
        expect(vm.exitReason).toEqual(exit.reason);
        const waited = await waiting;
        expect(waited).toMatchObject({ code: 'IO', hint: exit.reason?.hint });
        expect(waited?.message).toMatch(outsideKill('qemu-system-x86_64', id));
        expect(waited?.message).toContain('Last console lines');
        // The console (socat, an exec in QEMU's container) ends with the same reason.
        expect((await serialExit).reason).toEqual(exit.reason);
        // The guest's console log stays the guest's: no kdlab text in it.
        expect(vm.consoleText).not.toContain('from outside kdlab');
      } finally {
        await vm.powerOff();
      }
    }, 300_000);
  }
});

describe('a guest kdlab stops itself', () => {
  it('power off (QMP quit) and stop (kill) end it with no outside-kill reason', async () => {
    const first = await bootGuest();
    const firstSerial = exitOf(first.serial);
    await first.powerOff();
    const off = await first.exited;
    expect(off).toMatchObject({ code: 0, reason: null });
    expect(first.exitReason).toBeNull();
    expect((await firstSerial).reason).toBeUndefined();

    const second = await bootGuest();
    const secondSerial = exitOf(second.serial);
    // A job waiting on it (cancelled by kdlab) gets the plain "QEMU exited", not an outside kill.
    const waiting = second
      .waitFor((m) => m.kind === 'marker' && m.detail === 'never', 300_000)
      .then(
        () => null,
        (error: unknown) => error as LabErrorData,
      );
    second.stop();
    expect(await second.exited).toMatchObject({ reason: null });
    expect((await waiting)?.message).toMatch(/^QEMU exited before the guest got there/);
    expect((await secondSerial).reason).toBeUndefined();

    // kdlab removing the container itself (disposing the executor a guest owns: a SIGKILL, exit 137).
    const own = await DockerExecutor.create({ engine, image, workspace: workspace.root, job: vmJob });
    const third = await new VmRunner(workspace, own).boot({ kernel: kernel.bzImage, initrd });
    await third.waitFor((m) => m.kind === 'init', 120_000);
    await own.dispose();
    const removed = await third.exited;
    expect(removed.code === 137 || removed.code === -1).toBe(true);
    expect(removed.reason).toBeNull();
  }, 300_000);
});

describe('an exec terminal whose container is killed from outside', () => {
  /** A terminal as the app opens one: its own executor, disposed with it (terminal-lease). */
  async function openTerminal(argv: string[], inputs: string[] = []): Promise<TerminalSource> {
    const own = await DockerExecutor.create({ engine, image, workspace: workspace.root, job: termJob });
    try {
      return disposeWithTerminal(await own.openTerminal(argv, { cols: 100, rows: 30, inputs }), own);
    } catch (error) {
      await own.dispose();
      throw error;
    }
  }

  it('a gdb terminal (docker kill) exits with the reason naming gdb and its container, printed in it too', async () => {
    const term = await openTerminal(['gdb', '-q', '-nx', kernel.vmlinux], [kernel.vmlinux]);
    const text = textOf(term);
    const exited = exitOf(term);
    await waitFor(() => text().includes('(gdb)'), 120_000);
    const id = await containerOf(termJob, /tail -f \/dev\/null/);
    await engine.docker.getContainer(id).kill();
    const exit = await exited;
    expect(exit.reason).toMatchObject({
      code: 'IO',
      message: expect.stringMatching(outsideKill('gdb', id)) as string,
      hint: expect.stringContaining(
        `docker events --since 1h --filter container=${id.slice(0, 12)}`,
      ) as string,
    });
    // The user sees it in the terminal, not just a bare exit code.
    expect(text()).toContain(`kdlab: ${exit.reason?.message ?? '?'}`);
    expect(text()).toContain(exit.reason?.hint ?? '?');
  }, 300_000);

  it('a shell terminal (docker rm -f) exits with the reason', async () => {
    const term = await openTerminal(['sh']);
    const text = textOf(term);
    const exited = exitOf(term);
    term.write('echo "ready-$((6*7))"\r');
    await waitFor(() => text().includes('ready-42'), 60_000);
    const id = await containerOf(termJob, /tail -f \/dev\/null/);
    await engine.docker.getContainer(id).remove({ force: true });
    const exit = await exited;
    expect(exit.reason?.message).toMatch(outsideKill('sh', id));
    expect(text()).toContain('from outside kdlab');
  }, 120_000);

  it('closing a terminal, or its program exiting, is not an outside kill', async () => {
    const closed = await openTerminal(['sh']);
    const closedText = textOf(closed);
    const closedExit = exitOf(closed);
    closed.write('echo "up-$((6*7))"\r');
    await waitFor(() => closedText().includes('up-42'), 60_000);
    closed.kill();
    expect((await closedExit).reason).toBeUndefined();
    expect(closedText()).not.toContain('kdlab:');

    const done = await openTerminal(['sh', '-c', 'echo bye; exit 3']);
    const doneText = textOf(done);
    const doneExit = await exitOf(done);
    expect(doneExit).toMatchObject({ exitCode: 3 });
    expect(doneExit.reason).toBeUndefined();
    expect(doneText()).not.toContain('kdlab:');
  }, 120_000);
});
