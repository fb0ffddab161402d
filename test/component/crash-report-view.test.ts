// The structured report view on a report parsed from real crash output of this lab's own vmcores.
import { fireEvent, render, screen } from '@testing-library/svelte';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import {
  parseBacktrace,
  parseLog,
  parseModules,
  parsePs,
  parseSys,
} from '../../electron/lab/analyze/crash/parsers';
import type { CrashReport } from '../../electron/common/types';
import CrashReportView from '../../renderer/src/lib/components/CrashReportView.svelte';

const fixture = (name: string) =>
  readFileSync(join(process.cwd(), 'test/fixtures/crash-output', name), 'utf8');

function report(kind: 'sysrq' | 'null'): CrashReport {
  const backtrace = parseBacktrace(fixture(`${kind}-bt_l.txt`));
  return {
    vmcore: `/ws/vmcores/${kind}/vmcore`,
    vmlinux: '/ws/cache/kernels/k/vmlinux',
    crashVersion: '8.0.2',
    createdAt: '2026-11-22T00:00:00Z',
    summary: parseSys(fixture(`${kind}-sys.txt`)),
    backtrace,
    cpus: [backtrace],
    log: parseLog(fixture(`${kind}-log_m.txt`)),
    processes: parsePs(fixture(`${kind}-ps.txt`)),
    modules: parseModules(fixture(`${kind}-mod.txt`)),
    disassembly: null,
    raw: {},
    warnings: [],
  };
}

describe('crash report view', () => {
  it('shows the panic card, the backtrace with source lines, and the active task', () => {
    render(CrashReportView, { report: report('sysrq') });
    expect(screen.getByTestId('report-panic').textContent).toBe(
      'Kernel panic - not syncing: sysrq triggered crash',
    );
    const bt = screen.getByTestId('report-backtrace').textContent ?? '';
    expect(bt).toMatch(/__handle_sysrq[\s\S]*drivers\/tty\/sysrq\.c:\d+/);
    const active = screen.getByTestId('report-ps').querySelector('tr.active');
    expect(active?.textContent).toContain('init');
  });

  it('marks the exception frame of a module Oops and lists the module', () => {
    render(CrashReportView, { report: report('null') });
    expect(screen.getByTestId('report-panic').textContent).toContain('Oops: 0000 [#1] SMP');
    expect(screen.getByTestId('report-backtrace').querySelector('tr.fault')?.textContent).toContain(
      '_MODULE_INIT_START_kdlab_null_deref+27',
    );
    expect(screen.getByText('kdlab_null_deref')).toBeTruthy();
  });

  it('filters the log by text, level and the panic excerpt', async () => {
    render(CrashReportView, { report: report('null') });
    const log = screen.getByTestId('report-log');
    const all = log.querySelectorAll('span').length;
    await fireEvent.click(screen.getByLabelText(/only the panic excerpt/));
    const panicOnly = log.querySelectorAll('span');
    expect(panicOnly.length).toBeLessThan(all);
    expect([...panicOnly].every((s) => s.classList.contains('panic-line'))).toBe(true);
    expect(log.textContent).toContain('BUG: kernel NULL pointer dereference, address: 0000000000000010');
    await fireEvent.input(screen.getByPlaceholderText('Search the log'), { target: { value: 'Call Trace' } });
    expect(log.querySelectorAll('span').length).toBe(1);
  });
});
