// The Kernels view's config verification: a dropped option's "why" comes from the back end in both
// languages (built by the real explainDrop) and follows a run-time language switch.
import { render, screen } from '@testing-library/svelte';
import { tick } from 'svelte';
import { afterEach, describe, expect, it } from 'vitest';
import type { ApiMethod, LabApi } from '../../electron/common/api';
import { LabError } from '../../electron/common/errors';
import type { KernelSummary } from '../../electron/common/types';
import { explainDrop, parseConfig } from '../../electron/lab/kernel/kconfig';
import type { KconfigIndex } from '../../electron/lab/kernel/kconfig';
import { i18n } from '../../renderer/src/lib/i18n/i18n.svelte';
import { JobsState } from '../../renderer/src/lib/state/jobs.svelte';
import KernelsView from '../../renderer/src/views/KernelsView.svelte';

const index: KconfigIndex = new Map([
  [
    '9P_FS',
    [
      {
        name: '9P_FS',
        file: 'fs/9p/Kconfig',
        line: 2,
        type: 'tristate',
        conditions: ['INET && NET_9P'],
        selectedBy: [],
      },
    ],
  ],
]);
const why = explainDrop('9P_FS', index, parseConfig('CONFIG_NET_9P=y\n')).text;

const kernel: KernelSummary = {
  key: 'k1',
  release: '6.1.192',
  base: 'tinyconfig',
  fragments: ['qemu-virt'],
  dir: '/ws/cache/kernels/k1',
  buildId: null,
  buildSeconds: 250,
  verification: {
    ok: false,
    checks: [
      {
        option: 'NET_9P',
        fragment: 'qemu-virt',
        wanted: 'y',
        got: 'y',
        status: 'ok',
        optional: false,
        reason: null,
      },
      {
        option: '9P_FS',
        fragment: 'qemu-virt',
        wanted: 'y',
        got: 'n',
        status: 'dropped',
        optional: true,
        reason: why,
      },
    ],
  },
  artifacts: [],
  modules: 0,
  executor: 'host',
  builtAt: null,
};

function fakeApi(): LabApi {
  const answers: Partial<Record<ApiMethod, () => unknown>> = {
    'kernels.list': () => [kernel],
    'kernels.sources': () => [],
    'vms.list': () => [],
    'vmcores.list': () => [],
    'jobs.list': () => [],
  };
  return {
    invoke: (async (method: ApiMethod) => {
      const answer = answers[method];
      if (!answer) throw new LabError('UNKNOWN_METHOD', method);
      return answer();
    }) as LabApi['invoke'],
    on: () => () => undefined,
  };
}

describe('Kernels view: why an option was dropped', () => {
  afterEach(() => {
    i18n.language = 'en';
  });

  it('shows the unmet dependency in the interface language', async () => {
    const api = fakeApi();
    render(KernelsView, { api, jobs: new JobsState(api) });
    const table = await screen.findByTestId('kernel-verification');
    await screen.findByText('CONFIG_9P_FS');
    expect(table.textContent).toContain('depends on INET && NET_9P — unmet: INET is not set');
    i18n.language = 'zh-CN';
    await tick();
    expect(table.textContent).toContain('depends on INET && NET_9P —— 未满足：INET 未设置');
    expect(table.textContent).not.toContain('is not set');
  });
});
