// The Analyzer view's vmcore library: an empty library said plainly, and Remove asking first (a
// removed dump and its report are gone). The decoder has its own view (decoder-view.test.ts).
import { fireEvent, render, screen, within } from '@testing-library/svelte';
import { describe, expect, it } from 'vitest';
import type { ApiMethod, LabApi } from '../../electron/common/api';
import { LabError } from '../../electron/common/errors';
import type { VmcoreSummary } from '../../electron/common/types';
import AnalyzerView from '../../renderer/src/views/AnalyzerView.svelte';

const dump: VmcoreSummary = {
  id: 'sysrq-1',
  dir: '/ws/vmcores/sysrq-1',
  vmcore: '/ws/vmcores/sysrq-1/vmcore',
  consoleLog: null,
  captureDmesg: null,
  meta: {
    id: 'sysrq-1',
    kernelRelease: '6.1.192',
    buildId: null,
    createdAt: '2026-11-22T10:00:00.000Z',
    trigger: { kind: 'sysrq' },
    dumpLevel: 31,
    size: 11 * 1024 * 1024,
    guestMemoryMiB: 1024,
    crashkernelMiB: 128,
    panic: 'Kernel panic - not syncing: sysrq triggered crash',
    timings: { bootToPanicMs: null, panicToHostMs: null },
  },
};

function fakeApi(vmcores: VmcoreSummary[]) {
  const removed: string[] = [];
  const answers: Partial<Record<ApiMethod, (args: { id?: string }) => unknown>> = {
    'kernels.list': () => [],
    'vms.list': () => [],
    'vmcores.list': () => vmcores.filter((v) => !removed.includes(v.id)),
    'vmcores.remove': (args) => {
      removed.push(args.id!);
      return null;
    },
  };
  const api: LabApi = {
    invoke: (async (method: ApiMethod, args: { id?: string }) => {
      const answer = answers[method];
      if (!answer) throw new LabError('UNKNOWN_METHOD', method);
      return answer(args);
    }) as LabApi['invoke'],
    on: () => () => undefined,
  };
  return { api, removed };
}

describe('Analyzer view: the vmcore library', () => {
  it('shows an empty library plainly', async () => {
    render(AnalyzerView, { api: fakeApi([]).api });
    expect(await screen.findByText(/No vmcores yet/)).toBeTruthy();
  });

  it('asks before removing a vmcore; Cancel keeps it, Delete removes it', async () => {
    const { api, removed } = fakeApi([dump]);
    render(AnalyzerView, { api });
    const library = await screen.findByTestId('vmcore-library');
    await fireEvent.click(within(library).getByRole('button', { name: 'Remove' }));
    const confirm = within(library).getByRole('group', { name: 'Delete this vmcore and its report?' });
    await fireEvent.click(within(confirm).getByRole('button', { name: 'Cancel' }));
    expect(removed).toEqual([]);
    expect(within(library).getByText('sysrq triggered crash', { exact: false })).toBeTruthy();

    await fireEvent.click(within(library).getByRole('button', { name: 'Remove' }));
    await fireEvent.click(within(library).getByRole('button', { name: 'Delete' }));
    expect(removed).toEqual(['sysrq-1']);
    expect(await screen.findByText(/No vmcores yet/)).toBeTruthy();
  });
});
