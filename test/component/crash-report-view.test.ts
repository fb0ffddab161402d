// The structured report view on reports parsed from real crash output of this lab's own vmcores
// (a sysrq panic and a NULL-dereferencing module's Oops), in English and Chinese.
import { fireEvent, render, screen } from '@testing-library/svelte';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import {
  crashWarnings,
  parseBacktrace,
  parseLog,
  parseModules,
  parsePs,
  summarize,
} from '../../electron/lab/analyze/crash/parsers';
import { taintMeanings } from '../../electron/lab/analyze/decoder/tables';
import type { CrashReport } from '../../electron/common/types';
import CrashReportView from '../../renderer/src/lib/components/CrashReportView.svelte';
import { en } from '../../renderer/src/lib/i18n/en';
import { i18n } from '../../renderer/src/lib/i18n/i18n.svelte';
import { zhCN } from '../../renderer/src/lib/i18n/zh-CN';

const fixture = (name: string) =>
  readFileSync(join(process.cwd(), 'test/fixtures/crash-output', name), 'utf8');

/** The report as analyzeVmcore builds it, from the crash commands' real outputs. */
function report(kind: 'sysrq' | 'null', warnings: string[] = []): CrashReport {
  const backtrace = parseBacktrace(fixture(`${kind}-bt_l.txt`));
  const log = parseLog(fixture(`${kind}-log_m.txt`));
  return {
    vmcore: `/ws/vmcores/${kind}/vmcore`,
    vmlinux: '/ws/cache/kernels/k/vmlinux',
    crashVersion: '8.0.2',
    createdAt: '2026-11-22T00:00:00Z',
    summary: summarize(fixture(`${kind}-sys.txt`), backtrace, log, fixture(`${kind}-sys_t.txt`)),
    backtrace,
    cpus: [backtrace],
    log,
    processes: parsePs(fixture(`${kind}-ps.txt`)),
    modules: parseModules(fixture(`${kind}-mod.txt`), fixture(`${kind}-mod_t.txt`)),
    disassembly: null,
    raw: {},
    warnings,
  };
}

const text = (id: string) => screen.getByTestId(id).textContent?.replace(/\s+/g, ' ').trim() ?? '';

afterEach(() => {
  i18n.language = 'en';
});

describe('crash report view', () => {
  it('shows the panic card, the backtrace with source lines, and the active task', () => {
    render(CrashReportView, { report: report('sysrq') });
    expect(text('report-panic')).toBe('Kernel panic - not syncing: sysrq triggered crash');
    expect(screen.queryByTestId('report-oops')).toBeNull();
    expect(screen.queryByTestId('report-rip')).toBeNull();
    expect(screen.queryByTestId('report-fault-address')).toBeNull();
    expect(text('report-task')).toBe('init (pid 1) · CPU 0');
    expect(text('report-taint')).toBe(
      "not tainted · from the panicking CPU's Tainted: line · tainted_mask 0x0",
    );
    const rows = screen.getByTestId('report-backtrace').querySelectorAll('tbody tr');
    expect(rows[0]?.textContent).toMatch(/^0machine_kexec/);
    expect(rows[3]?.textContent).toMatch(/__handle_sysrq[\s\S]*drivers\/tty\/sysrq\.c:\d+/);
    const active = screen.getByTestId('report-ps').querySelector('tr.active');
    expect(active?.textContent).toContain('init');
    expect(screen.queryByTestId('report-warnings')).toBeNull();
  });

  it('a module Oops: the BUG line over the Oops line, RIP, fault address, taint and module taint decoded', () => {
    render(CrashReportView, { report: report('null') });
    expect(text('report-panic')).toBe('BUG: kernel NULL pointer dereference, address: 0000000000000010');
    expect(text('report-oops')).toBe('Oops: 0000 [#1] SMP');
    expect(text('report-rip')).toBe('kdlab_null_deref_init+0x1b/0x1000 [kdlab_null_deref]');
    expect(text('report-fault-address')).toBe('0x0000000000000010');
    expect(text('report-task')).toBe('insmod (pid 35) · CPU 0');
    const taint = screen.getByTestId('report-taint');
    expect(text('report-taint')).toContain('G O');
    expect(text('report-taint')).toContain('tainted_mask 0x1000');
    const flags = [...taint.querySelectorAll('code.flag')].map((c) => [
      c.textContent,
      c.getAttribute('title'),
    ]);
    expect(flags).toEqual([
      ['G', 'all loaded modules are GPL-compatible (no proprietary module)'],
      ['O', 'an out-of-tree (externally built) module was loaded'],
    ]);
    expect(text('report-module')).toBe(
      'kdlab_null_deref @ ffffffffc0000000 · 16384 B · Taint O an out-of-tree (externally built) module was loaded',
    );
    const fault = screen.getByTestId('report-backtrace').querySelector('tr.fault')?.textContent ?? '';
    expect(fault).toContain('exception RIP: _MODULE_INIT_START_kdlab_null_deref+27');
    expect(fault).toContain('in the init code of module kdlab_null_deref, offset 27');
  });

  it("shows crash's warnings on the card", () => {
    const warnings = crashWarnings('WARNING: active task ffff8880001e8000 on cpu 0 not found in PID hash\n');
    render(CrashReportView, { report: report('sysrq', warnings) });
    const box = screen.getByRole('alert');
    expect(box.dataset.testid).toBe('report-warnings');
    expect(box.textContent).toContain('crash warned');
    expect(box.textContent).toContain("tasks are 'not found in PID hash'");
  });

  it('in Chinese: the card, taint meanings, levels and table headers from the catalog', () => {
    i18n.language = 'zh-CN';
    render(CrashReportView, {
      report: report('null', crashWarnings('WARNING: kernel version inconsistency')),
    });
    expect(text('report-task')).toBe('insmod（PID 35）· CPU 0');
    expect(text('report-panic')).toBe('BUG: kernel NULL pointer dereference, address: 0000000000000010');
    expect(screen.getByText('出错的 RIP')).toBeTruthy();
    expect(screen.getByText('出错地址')).toBeTruthy();
    expect(text('report-taint')).toContain('取自 panic 所在 CPU 的 Tainted: 行');
    const o = screen.getByTestId('report-taint').querySelectorAll('code.flag')[1];
    expect(o?.getAttribute('title')).toBe('加载过树外（单独编译）的模块');
    expect(text('report-module')).toContain('16384 字节');
    expect(screen.getByRole('alert').textContent).toContain('crash 给出了警告');
    expect(screen.getByTestId('report-backtrace').querySelector('tr.fault')?.textContent).toContain(
      '异常 RIP：',
    );
    const headers = [...screen.getByTestId('report-ps').querySelectorAll('th')].map((h) => h.textContent);
    expect(headers).toContain('命令');
    expect([...screen.getAllByRole('option')].map((o) => o.textContent)).toContain('≤ 3 错误 err');
  });

  it('the catalogs hold every taint letter of the decoder, English identical to its table', () => {
    for (const [flag, meaning] of Object.entries(taintMeanings)) {
      const key = `taint.${flag}` as keyof typeof en;
      expect(en[key], flag).toBe(meaning);
      expect(zhCN[key], flag).toMatch(/[\u4e00-\u9fff]/);
    }
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
