// The executor setting through the API the UI uses: executor=docker makes vms.boot run QEMU in the
// lab toolchain container (the guest reaches its init marker, VmInfo says where it ran, its serial
// console works as a terminal), powering it off leaves no container; back on the host, the next
// guest runs on the host. A temp workspace holds the lab kernel (hard links into the test cache).
import { execFileSync } from 'node:child_process';
import { mkdir, mkdtemp, rm } from 'node:fs/promises';
import { dirname } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { ExecutorSettingsInfo } from '../../electron/common/api';
import type { VmInfo } from '../../electron/common/types';
import { createLabBackend } from '../../electron/lab/lab-backend';
import type { LabBackend } from '../../electron/lab/lab-backend';
import { Workspace } from '../../electron/lab/workspace';
import { appRoot } from '../helpers/build';
import { labKernel, testWorkspaceRoot } from '../helpers/lab-kernel';
import { waitFor } from '../helpers/temp';
import { apiTestClient } from '../helpers/api-client';

let root: string;
let backend: LabBackend;
let kernelKey: string;
const { ctx, call, output, openSerialConsole } = apiTestClient(() => backend);

/** kdlab's containers for this workspace, running or not. */
function containers(): string[] {
  return execFileSync('docker', ['ps', '-aq', '--filter', `label=io.kdlab.workspace=${root}`], {
    encoding: 'utf8',
  })
    .split('\n')
    .filter(Boolean);
}

beforeAll(async () => {
  const { kernel } = await labKernel();
  kernelKey = kernel.key;
  // Beside the test workspace (same filesystem): the kernel entry is hard-linked, not copied.
  await mkdir(dirname(testWorkspaceRoot), { recursive: true });
  root = await mkdtemp(`${dirname(testWorkspaceRoot)}/settings-docker-`);
  const workspace = await Workspace.open(root);
  const entry = workspace.cache('kernels').entryDir(kernel.key);
  await mkdir(dirname(entry), { recursive: true });
  execFileSync('cp', ['-al', kernel.dir, entry]);
  backend = await createLabBackend({ mode: 'web', version: 'test', workspaceRoot: root, appRoot });
  backend.events.attach(ctx);
}, 1_800_000);

afterAll(async () => {
  await backend?.dispose();
  if (root) await rm(root, { recursive: true, force: true });
});

describe('executor setting through the API', () => {
  it('docker: vms.boot runs QEMU in the toolchain container; its console works; nothing is left after power-off', async () => {
    const saved = await call<ExecutorSettingsInfo>('settings.setExecutor', {
      executor: 'docker',
      image: 'kdlab/toolchain:latest',
    });
    expect(saved.executor).toBe('docker');

    const vm = await call<VmInfo>('vms.boot', { kernelKey, accel: 'tcg' });
    expect(vm.executor).toMatch(/^docker kdlab\/toolchain:latest \([0-9a-f]{12}\) on unix:\/\//);
    expect(vm.state).toBe('running');
    expect(vm.milestones.some((m) => m.kind === 'marker' && m.detail === 'init-ready')).toBe(true);
    expect(containers().length).toBeGreaterThan(0);
    const job = (await call<{ title: string; state: string }[]>('jobs.list')).find(
      (j) => j.title === 'Booting the lab kernel (Docker)',
    );
    expect(job?.state).toBe('succeeded');

    const term = await openSerialConsole(vm.id);
    await waitFor(() => (output.get(term.id) ?? '').includes('KDLAB-INIT-READY'), 20_000);
    await call('terminal.write', { id: term.id, data: 'echo in-docker-$((6*7))\r' });
    await waitFor(() => (output.get(term.id) ?? '').includes('in-docker-42'), 30_000);
    await call('terminal.close', { id: term.id });

    const off = await call<VmInfo>('vms.powerOff', { id: vm.id });
    expect(off.state).toBe('stopped');
    // kdlab stopped it: no reason to show.
    expect(off.exitReason).toBeNull();
    await waitFor(() => containers().length === 0, 30_000, 250);
  }, 300_000);

  it('docker: a guest whose container is killed from outside shows why it stopped, naming the container', async () => {
    const vm = await call<VmInfo>('vms.boot', { kernelKey, accel: 'tcg' });
    expect(vm.executor).toMatch(/^docker /);
    const [qemu] = containers();
    expect(qemu).toBeDefined();
    execFileSync('docker', ['kill', qemu!]);
    let stopped: VmInfo | undefined;
    for (let i = 0; i < 300 && stopped?.state !== 'stopped'; i++) {
      stopped = (await call<VmInfo[]>('vms.list')).find((v) => v.id === vm.id);
      if (stopped?.state !== 'stopped') await new Promise((r) => setTimeout(r, 100));
    }
    expect(stopped?.state).toBe('stopped');
    expect(stopped?.exitReason?.message).toMatch(
      new RegExp(`container ${qemu!.slice(0, 12)} was killed \\(SIGKILL, exit 137\\) from outside kdlab`),
    );
    expect(stopped?.exitReason?.hint).toMatch(/docker events/);
    await waitFor(() => containers().length === 0, 30_000, 250);
  }, 300_000);

  it('back on the host: the setting is saved and the next guest runs on the host', async () => {
    const info = await call<ExecutorSettingsInfo>('settings.setExecutor', { executor: 'host' });
    expect(info).toMatchObject({ executor: 'host', image: 'kdlab/toolchain:latest' });
    expect((await call<ExecutorSettingsInfo>('settings.get')).executor).toBe('host');
    const vm = await call<VmInfo>('vms.boot', { kernelKey, accel: 'tcg' });
    expect(vm.executor).toBe('host');
    expect(vm.milestones.some((m) => m.kind === 'marker' && m.detail === 'init-ready')).toBe(true);
    expect(containers()).toEqual([]);
    await call('vms.powerOff', { id: vm.id });
  }, 300_000);
});
