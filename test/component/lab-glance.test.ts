// Home's glance: "Open" beside a vmcore lands on that vmcore's report in the Analyzer, and beside a
// panicked guest on that guest in the VMs view (through the views' remembered selections).
import { fireEvent, render, screen, within } from '@testing-library/svelte';
import { afterEach, describe, expect, it } from 'vitest';
import type { ApiMethod, LabApi } from '../../electron/common/api';
import { LabError } from '../../electron/common/errors';
import type { CrashReport, VmInfo, VmcoreSummary } from '../../electron/common/types';
import LabGlance from '../../renderer/src/lib/components/LabGlance.svelte';
import { analyzerView, vmsView } from '../../renderer/src/lib/state/view-memory.svelte';

const vmcore = (id: string, panic: string) =>
  ({
    id,
    dir: `/ws/vmcores/${id}`,
    vmcore: `/ws/vmcores/${id}/vmcore`,
    consoleLog: null,
    captureDmesg: null,
    meta: { id, kernelRelease: '6.1.192-kdlab', buildId: null, createdAt: '2026-11-22T10:00:00Z', panic },
  }) as unknown as VmcoreSummary;

const guest = (id: string) =>
  ({
    id,
    state: 'panicked',
    kernelRelease: '6.1.192-kdlab',
    milestones: [{ kind: 'panic', atMs: 1520, detail: 'sysrq triggered crash' }],
  }) as unknown as VmInfo;

function fakeApi(analyze: (id: string) => Promise<CrashReport>) {
  const calls: [string, unknown][] = [];
  const answers: Partial<Record<ApiMethod, (args: { id: string }) => unknown>> = {
    'kernels.list': () => [],
    'vms.list': () => [guest('vm-1'), guest('vm-2')],
    'vmcores.list': () => [vmcore('core-a', 'sysrq triggered crash'), vmcore('core-b', 'Oops')],
    'vmcores.analyze': (args) => analyze(args.id),
  };
  const api: LabApi = {
    invoke: (async (method: ApiMethod, args: { id: string }) => {
      calls.push([method, args]);
      const answer = answers[method];
      if (!answer) throw new LabError('UNKNOWN_METHOD', method);
      return answer(args);
    }) as LabApi['invoke'],
    on: () => () => undefined,
  };
  return { api, calls };
}

afterEach(() => {
  analyzerView.report = null;
  vmsView.selected = null;
  location.hash = '';
});

describe('Home glance', () => {
  it('opens the Analyzer on the vmcore whose Open was clicked', async () => {
    const report = { vmcore: '/ws/vmcores/core-b/vmcore' } as unknown as CrashReport;
    let finish: (r: CrashReport) => void = () => undefined;
    const { api, calls } = fakeApi(() => new Promise((resolve) => (finish = resolve)));
    render(LabGlance, { api });
    const rows = within(await screen.findByTestId('recent-vmcores')).getAllByRole('listitem');
    await fireEvent.click(within(rows[1]!).getByRole('link', { name: 'Open' }));
    // crash is running: the link says so and the view has not changed yet.
    expect(within(rows[1]!).getByRole('link').textContent).toBe('Running crash…');
    expect(location.hash).toBe('');
    finish(report);
    await new Promise((resolve) => setTimeout(resolve, 0));
    expect(calls.filter(([m]) => m === 'vmcores.analyze')).toEqual([['vmcores.analyze', { id: 'core-b' }]]);
    expect(analyzerView.report).toEqual({ id: 'core-b', report });
    expect(location.hash).toBe('#/analyzer');
  });

  it('shows why when crash fails, and stays on Home', async () => {
    const { api } = fakeApi(() =>
      Promise.reject(new LabError('IO', 'crash could not read the vmcore', 'Check the vmlinux.')),
    );
    render(LabGlance, { api });
    const rows = within(await screen.findByTestId('recent-vmcores')).getAllByRole('listitem');
    await fireEvent.click(within(rows[0]!).getByRole('link', { name: 'Open' }));
    expect(await screen.findByText(/crash could not read the vmcore/)).toBeTruthy();
    expect(analyzerView.report).toBeNull();
    expect(location.hash).toBe('');
  });

  it('selects the panicked guest whose Open was clicked in the VMs view', async () => {
    const { api } = fakeApi(() => Promise.reject(new Error('not used')));
    render(LabGlance, { api });
    const rows = within(await screen.findByTestId('recent-panics')).getAllByRole('listitem');
    expect(rows[1]!.textContent).toContain('vm-1');
    const open = within(rows[1]!).getByRole('link', { name: 'Open' });
    expect(open.getAttribute('href')).toBe('#/vms');
    await fireEvent.click(open);
    expect(vmsView.selected).toBe('vm-1');
  });
});
