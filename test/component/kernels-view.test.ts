// The Kernels view: a running build shows its progress with a translated ETA and its live log (the
// shared log viewer); a build that was a cache hit says so, with when it was really built.
import { fireEvent, render, screen, waitFor, within } from '@testing-library/svelte';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import type { ApiMethod, LabApi } from '../../electron/common/api';
import type { LabEvents } from '../../electron/common/events';
import { LabError } from '../../electron/common/errors';
import type { JobInfo, KernelSummary } from '../../electron/common/types';
import { i18n } from '../../renderer/src/lib/i18n/i18n.svelte';
import { JobsState } from '../../renderer/src/lib/state/jobs.svelte';
import KernelsView from '../../renderer/src/views/KernelsView.svelte';

const buildLog = readFileSync(join(process.cwd(), 'test/fixtures/logs/kernel-build.log'), 'utf8');

const kernel: KernelSummary = {
  key: '4643988a0113aab6a8586dc36d8b59de',
  release: '6.1.192',
  base: 'tinyconfig',
  fragments: ['kgdb', 'kdump', 'debuginfo', 'qemu-virt', 'modules'],
  dir: '/ws/cache/kernels/4643988a0113aab6a8586dc36d8b59de',
  buildId: '5f1c2a9d0e7b3c4a8f6e1d2c3b4a5f6e7d8c9b0a',
  buildSeconds: 253.4,
  verification: { ok: true, checks: [] },
  artifacts: [],
  modules: 2,
  executor: 'host',
  builtAt: '2026-11-22T09:30:00.000Z',
};

const job = (state: JobInfo['state'], etaSeconds: number | null): JobInfo => ({
  id: 'job-1',
  kind: 'kernel-build',
  title: 'Building kernel 6.1',
  state,
  progress: { fraction: 0.4, message: 'make: 812 of 2030 steps', etaSeconds },
  createdAt: '2026-11-23T01:00:00.000Z',
  endedAt: null,
  error: null,
  logPath: '/ws/jobs/job-1.log',
});

/** The API boundary: answers, and events the test pushes as the back end would. */
function fakeApi(build: () => Promise<KernelSummary & { cacheHit: boolean }>) {
  const listeners: { [K in keyof LabEvents]?: ((payload: LabEvents[K]) => void)[] } = {};
  const answers: Partial<Record<ApiMethod, () => unknown>> = {
    'kernels.sources': () => [{ kind: 'debian', path: '/usr/src/linux-source-6.1.tar.xz', version: '6.1' }],
    'kernels.list': () => [kernel],
    'vms.list': () => [],
    'vmcores.list': () => [],
    'jobs.list': () => [],
    'jobs.log': () => ({ text: buildLog, nextOffset: buildLog.length, size: buildLog.length }),
    'kernels.build': build,
  };
  const api: LabApi = {
    invoke: (async (method: ApiMethod) => {
      const answer = answers[method];
      if (!answer) throw new LabError('UNKNOWN_METHOD', method);
      return answer();
    }) as LabApi['invoke'],
    on: (event: keyof LabEvents, listener: (payload: never) => void) => {
      (listeners[event] ??= [] as never[]).push(listener as never);
      return () => undefined;
    },
  };
  const emit = <K extends keyof LabEvents>(event: K, payload: LabEvents[K]) => {
    for (const listener of listeners[event] ?? []) listener(payload);
  };
  return { api, emit };
}

afterEach(() => {
  i18n.language = 'en';
});

describe('Kernels view', () => {
  it('shows a running build with its ETA and its live, searchable log', async () => {
    const { api, emit } = fakeApi(() => new Promise(() => undefined));
    const jobs = new JobsState(api);
    jobs.listen();
    render(KernelsView, { api, jobs });
    await screen.findByTestId('kernels-list');
    emit('job.updated', job('running', 125.4));
    const progress = await screen.findByRole('status');
    expect(progress.textContent).toContain('ETA 2m05s');
    const log = await screen.findByTestId('kernel-build-log');
    const output = within(log).getByTestId('log-output');
    await waitFor(() => expect(output.textContent).toBe(buildLog));
    emit('job.log', { id: 'job-1', text: '  LD      vmlinux.o\n' });
    await waitFor(() => expect(output.textContent).toBe(`${buildLog}  LD      vmlinux.o\n`));
    await fireEvent.input(within(log).getByRole('searchbox'), { target: { value: 'vmlinux' } });
    expect(within(log).getByTestId('log-matches').textContent).toMatch(/^1 of \d+$/);

    i18n.language = 'zh-CN';
    await Promise.resolve();
    expect(screen.getByRole('status').textContent).toContain('预计还需 2m05s');
  });

  it('says a cache hit was built earlier instead of showing progress', async () => {
    const { api } = fakeApi(async () => ({ ...kernel, cacheHit: true }));
    const jobs = new JobsState(api);
    render(KernelsView, { api, jobs });
    await screen.findByTestId('kernels-list');
    await fireEvent.click(screen.getByRole('button', { name: 'Build' }));
    const hit = await screen.findByTestId('kernel-cache-hit');
    const when = new Date(kernel.builtAt!).toLocaleString('en');
    expect(hit.textContent?.trim()).toBe(`cache hit — built ${when}, 0 s`);
    expect(screen.queryByRole('progressbar')).toBeNull();
    // The build id is shown and copyable.
    expect(screen.getByRole('button', { name: `Copy: ${kernel.buildId}` })).toBeTruthy();
  });
});
