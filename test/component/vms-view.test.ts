// The VMs view says why a guest stopped when kdlab did not stop it (e.g. its container was killed
// from outside), from the VmInfo the back end sends; a guest kdlab powered off shows no such note.
import { render, screen, within } from '@testing-library/svelte';
import { describe, expect, it } from 'vitest';
import type { ApiMethod, LabApi } from '../../electron/common/api';
import { LabError } from '../../electron/common/errors';
import type { VmInfo } from '../../electron/common/types';
import VmsView from '../../renderer/src/views/VmsView.svelte';

function guest(id: string, exitReason: VmInfo['exitReason']): VmInfo {
  return {
    id,
    state: 'stopped',
    kernelKey: 'k1',
    kernelRelease: '6.1.192',
    accel: 'tcg',
    accelReason: { en: 'KVM probe timed out', 'zh-CN': 'KVM 探测超时' },
    gdbPort: null,
    argv: ['qemu-system-x86_64'],
    startedAt: '2026-11-22T22:00:00Z',
    milestones: [],
    runDir: '/tmp/run',
    executor: 'docker kdlab/toolchain:latest (b5975aeb9eb5) on unix:///var/run/docker.sock',
    exitReason,
  };
}

function fakeApi(vms: VmInfo[]): LabApi {
  const answers: Partial<Record<ApiMethod, () => unknown>> = {
    'kernels.list': () => [],
    'vms.list': () => vms,
    'vmcores.list': () => [],
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

describe('VMs view: why a guest stopped', () => {
  it('shows the exit reason and its hint for a guest killed from outside', async () => {
    const reason = {
      code: 'IO' as const,
      message:
        'qemu-system-x86_64 stopped: its container 0123456789ab was killed (SIGKILL, exit 137) from outside kdlab.',
      hint: 'Start it again; docker events --since 1h --filter container=0123456789ab shows what stopped it.',
    };
    render(VmsView, { api: fakeApi([guest('vm-1', reason)]) });
    const card = await screen.findByTestId('vm-guest');
    const alert = within(card).getByRole('alert');
    expect(alert.textContent).toContain('container 0123456789ab was killed');
    expect(alert.textContent).toContain('docker events --since 1h');
  });

  it('shows no alert for a guest kdlab powered off', async () => {
    render(VmsView, { api: fakeApi([guest('vm-2', null)]) });
    const card = await screen.findByTestId('vm-guest');
    expect(within(card).queryByRole('alert')).toBeNull();
  });
});
