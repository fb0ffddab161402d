// The Home view renders a real doctor report (captured from `kdlab doctor --json` on the lab machine).
import { fireEvent, render, screen, within } from '@testing-library/svelte';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { tick } from 'svelte';
import { afterEach, describe, expect, it } from 'vitest';
import type { ApiMethod, LabApi } from '../../electron/common/api';
import { LabError } from '../../electron/common/errors';
import { fmt, sameText } from '../../electron/common/local-text';
import type { DoctorReport } from '../../electron/common/types';
import { doctorTexts, toolPurposes } from '../../electron/lab/doctor/checks';
import { i18n } from '../../renderer/src/lib/i18n/i18n.svelte';
import HomeView from '../../renderer/src/views/HomeView.svelte';

const report = JSON.parse(
  readFileSync(join(process.cwd(), 'test/fixtures/doctor/debian12-report.json'), 'utf8'),
) as DoctorReport;

/** The API boundary of the view: answers from fixtures, records the calls. */
function fakeApi(answers: Partial<Record<ApiMethod, () => unknown>>) {
  const calls: [string, unknown][] = [];
  const api: LabApi = {
    invoke: (async (method: ApiMethod, args: unknown) => {
      calls.push([method, args]);
      const answer = answers[method];
      if (!answer) throw new LabError('UNKNOWN_METHOD', method);
      return answer();
    }) as LabApi['invoke'],
    on: () => () => undefined,
  };
  return { api, calls };
}

describe('Home view', () => {
  afterEach(() => {
    i18n.language = 'en';
  });

  it('shows the checks in the interface language: switching to Chinese needs no new report', async () => {
    const withMissing: DoctorReport = {
      ...report,
      checks: report.checks.map((c) =>
        c.id === 'crash'
          ? {
              ...c,
              status: 'missing',
              version: null,
              detail: fmt(doctorTexts.toolMissing, { command: 'crash', purpose: toolPurposes.crash }),
              fix: sameText('sudo apt-get install -y crash'),
            }
          : c,
      ),
    };
    const { api, calls } = fakeApi({ 'doctor.last': () => withMissing });
    render(HomeView, { api });
    const crash = await screen.findByTestId('doctor-check-crash');
    const kvm = screen.getByTestId('doctor-check-kvm');
    expect(crash.textContent).toContain('crash not found: analyzes vmcores');
    expect(kvm.textContent).toContain('KVM acceleration (real boot probe)');
    i18n.language = 'zh-CN';
    await tick();
    expect(crash.textContent).toContain('找不到 crash：用来分析 vmcore');
    expect(within(crash).getByText('sudo apt-get install -y crash')).toBeTruthy();
    expect(kvm.textContent).toContain('KVM 加速（真实启动探测）');
    expect(kvm.textContent).toContain('已跳过 KVM 探测（--no-kvm-probe）');
    expect(kvm.textContent).not.toContain('probe skipped');
    expect(calls.filter(([m]) => m.startsWith('doctor.'))).toHaveLength(1);
  });

  it('shows the last report: each check with its status, version and fix', async () => {
    const withMissing: DoctorReport = {
      ...report,
      checks: report.checks.map((c) =>
        c.id === 'crash'
          ? {
              ...c,
              status: 'missing',
              version: null,
              detail: sameText('crash not found: analyzes vmcores'),
              fix: sameText('sudo apt-get install -y crash'),
            }
          : c,
      ),
    };
    const { api } = fakeApi({ 'doctor.last': () => withMissing });
    render(HomeView, { api });
    const qemu = await screen.findByTestId('doctor-check-qemu');
    expect(qemu.dataset.status).toBe('ok');
    expect(qemu.textContent).toContain('7.2.22');
    const crash = screen.getByTestId('doctor-check-crash');
    expect(crash.dataset.status).toBe('missing');
    expect(within(crash).getByText('sudo apt-get install -y crash')).toBeTruthy();
    expect(within(crash).getByRole('button', { name: /Copy: sudo apt-get install -y crash/ })).toBeTruthy();
    expect(screen.getAllByRole('row')).toHaveLength(report.checks.length + 1);
  });

  it('runs the checks with the KVM probe and shows progress meanwhile', async () => {
    let finish: (r: DoctorReport) => void = () => undefined;
    const { api, calls } = fakeApi({
      'doctor.last': () => null,
      'doctor.run': () => new Promise<DoctorReport>((resolve) => (finish = resolve)),
    });
    render(HomeView, { api });
    expect(await screen.findByText(/has not been checked yet/)).toBeTruthy();
    await fireEvent.click(screen.getByRole('button', { name: 'Run checks' }));
    expect(screen.getByTestId('doctor-running')).toBeTruthy();
    expect(calls).toContainEqual(['doctor.run', { kvmProbe: true }]);
    finish(report);
    expect(await screen.findByTestId('doctor-check-kvm')).toBeTruthy();
    expect(screen.queryByTestId('doctor-running')).toBeNull();
  });

  it('shows an API failure with its hint', async () => {
    const { api } = fakeApi({
      'doctor.last': () => null,
      'doctor.run': () => {
        throw new LabError(
          'UNAVAILABLE',
          'Lost the connection to the kdlab back end.',
          'Is kdlab serve still running?',
        );
      },
    });
    render(HomeView, { api });
    await fireEvent.click(await screen.findByRole('button', { name: 'Run checks' }));
    const alert = await screen.findByRole('alert');
    expect(alert.textContent).toContain('Lost the connection');
    expect(alert.textContent).toContain('Is kdlab serve still running?');
  });
});
