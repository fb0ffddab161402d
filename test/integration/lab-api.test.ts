// The pipeline through the one API the UI uses (the same dispatch the IPC and WebSocket bridges
// call): kernels, a booted guest's serial console and gdb as terminals, crash now, kdump capture.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { KernelSummary, TerminalInfo, VmInfo, VmcoreSummary } from '../../electron/common/types';
import { createLabBackend } from '../../electron/lab/lab-backend';
import type { LabBackend } from '../../electron/lab/lab-backend';
import { appRoot } from '../helpers/build';
import { labKernel, testWorkspaceRoot } from '../helpers/lab-kernel';
import { waitFor } from '../helpers/temp';
import { apiTestClient } from '../helpers/api-client';

let backend: LabBackend;
let kernelKey: string;
const { ctx, call, output, shownAtExit, vmUpdates, openSerialConsole } = apiTestClient(() => backend);

beforeAll(async () => {
  kernelKey = (await labKernel()).kernel.key;
  backend = await createLabBackend({
    mode: 'web',
    version: 'test',
    workspaceRoot: testWorkspaceRoot,
    appRoot,
  });
  backend.events.attach(ctx);
}, 1_800_000);
afterAll(async () => {
  await backend.dispose();
});

describe('lab API', () => {
  it('lists the sources and the built lab kernel with its verified config and artifacts', async () => {
    const sources = await call<{ path: string; version: string }[]>('kernels.sources');
    expect(sources.some((s) => s.version === '6.1')).toBe(true);
    const kernels = await call<KernelSummary[]>('kernels.list');
    const lab = kernels.find((k) => k.key === kernelKey)!;
    expect(lab.release).toMatch(/^6\.1\./);
    expect(lab.artifacts.map((a) => a.name)).toEqual(
      expect.arrayContaining(['bzImage', 'vmlinux', 'vmlinux-gdb.py']),
    );
  });

  it('boots a guest, shows its serial console as a terminal, types into it, and crashes it on request', async () => {
    const vm = await call<VmInfo>('vms.boot', { kernelKey });
    expect(vm.state).toBe('running');
    expect(vm.milestones.map((m) => m.kind)).toContain('init');
    // The console printed before the view opened is replayed once the view reports its size.
    const term = await openSerialConsole(vm.id);
    await waitFor(() => (output.get(term.id) ?? '').includes('KDLAB-INIT-READY'));
    await call('terminal.write', { id: term.id, data: 'echo api-$((6*7))\r' });
    await waitFor(() => (output.get(term.id) ?? '').includes('api-42'), 20_000);
    // Closing the view leaves the guest running.
    await call('terminal.close', { id: term.id });
    expect((await call<VmInfo[]>('vms.list')).find((v) => v.id === vm.id)?.state).toBe('running');
    const dumped = await call<VmcoreSummary>('vms.dumpMemory', { id: vm.id, format: 'kdump-zlib' });
    expect(dumped.meta).toMatchObject({ method: 'dump-guest-memory', format: 'kdump-zlib' });
    await call('vmcores.remove', { id: dumped.id });
    await call('vms.crash', { id: vm.id });
    await waitFor(() => vmUpdates.some((u) => u.id === vm.id && u.state === 'panicked'), 30_000);
    const off = await call<VmInfo>('vms.powerOff', { id: vm.id });
    expect(off.state).toBe('stopped');
    expect(off.milestones.find((m) => m.kind === 'panic')?.detail).toBe('sysrq triggered crash');
  }, 120_000);

  it('shows the whole console of a guest that already stopped (init exited), then its exit', async () => {
    const vm = await call<VmInfo>('vms.boot', { kernelKey, init: { kind: 'exit', code: 0 } });
    for (let i = 0; i < 300 && !vmUpdates.some((u) => u.id === vm.id && u.state === 'stopped'); i++)
      await new Promise((r) => setTimeout(r, 100));
    expect((await call<VmInfo[]>('vms.list')).find((v) => v.id === vm.id)?.state).toBe('stopped');
    // The view reports its size: the console is replayed, and only then does the terminal end.
    const term = await openSerialConsole(vm.id);
    await waitFor(() => shownAtExit.has(term.id), 10_000);
    expect(shownAtExit.get(term.id)).toContain('Linux version 6.1');
    expect(shownAtExit.get(term.id)).toContain('Attempted to kill init! exitcode=0x00000000');
  }, 120_000);

  it('opens gdb on a paused guest as a terminal', async () => {
    const vm = await call<VmInfo>('vms.boot', { kernelKey, paused: true });
    expect(vm.state).toBe('paused');
    expect(vm.gdbPort).not.toBeNull();
    const term = await call<TerminalInfo>('terminal.open', { kind: 'gdb', vmId: vm.id, cols: 120, rows: 40 });
    expect(term.title).toBe(`gdb :${vm.gdbPort}`);
    await waitFor(() => /\(gdb\) $/m.test(output.get(term.id) ?? ''), 30_000);
    await call('terminal.write', { id: term.id, data: 'hbreak start_kernel\r' });
    // gdb styles its output on a terminal: compare without the colour escapes.
    // eslint-disable-next-line no-control-regex
    const plain = () => (output.get(term.id) ?? '').replace(/\x1b\[[0-9;?]*[a-zA-Z]/g, '');
    await waitFor(() => /hbreak start_kernel[\s\S]*\(gdb\) $/.test(plain()), 30_000);
    await call('terminal.write', { id: term.id, data: 'continue\r' });
    await waitFor(() => /Breakpoint 1, start_kernel \(\)/.test(plain()), 60_000).catch((error: Error) => {
      throw new Error(`${error.message}; gdb printed:\n${plain()}`);
    });
    await call('terminal.write', { id: term.id, data: 'info symbol $pc\r' });
    await waitFor(() => /start_kernel in section \.init\.text/.test(plain()), 30_000);
    await call('terminal.write', { id: term.id, data: 'quit\r' });
    await call('vms.powerOff', { id: vm.id });
  }, 120_000);

  it('crashes and captures through kdump into the library', async () => {
    const entry = await call<VmcoreSummary>('vmcores.capture', { kernelKey });
    expect(entry.meta.panic).toBe('sysrq triggered crash');
    const all = await call<VmcoreSummary[]>('vmcores.list');
    expect(all[0]?.id).toBe(entry.id);
    await call('vmcores.remove', { id: entry.id });
    expect((await call<VmcoreSummary[]>('vmcores.list')).some((e) => e.id === entry.id)).toBe(false);
  }, 300_000);

  it('refuses malformed or unknown pipeline requests as data', async () => {
    expect(await backend.dispatch('vms.boot', { kernelKey: '../../etc' }, ctx)).toMatchObject({
      ok: false,
      error: { code: 'BAD_REQUEST' },
    });
    expect(
      await backend.dispatch('terminal.open', { kind: 'gdb', vmId: 'nope', cols: 80, rows: 24 }, ctx),
    ).toMatchObject({
      ok: false,
      error: { code: 'NOT_FOUND', message: 'No guest nope is running in this kdlab.' },
    });
    expect(await backend.dispatch('vms.boot', { kernelKey: 'ffffffff' }, ctx)).toMatchObject({
      ok: false,
      error: { code: 'NOT_FOUND' },
    });
  });
});
