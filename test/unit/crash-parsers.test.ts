// crash(8) output parsers on real output captured from this lab's own vmcores (test/fixtures/crash-output)
// and on the seed write-up's flattened paste.
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
import { renderHtml, renderMarkdown } from '../../electron/lab/analyze/crash/analyzer';
import type { CrashReport } from '../../electron/lab/analyze/crash/types';

const fixture = (name: string) => readFileSync(join(__dirname, '../fixtures', name), 'utf8');

describe('crash output parsers', () => {
  it('sys: every field of a sysrq crash', () => {
    expect(parseSys(fixture('crash-output/sysrq-sys.txt'))).toMatchObject({
      cpus: 1,
      tasks: 28,
      nodename: '(none)',
      release: '6.1.192',
      machine: 'x86_64  (2445 Mhz)',
      memory: '1 GB',
      uptime: '00:00:01',
      panic: 'Kernel panic - not syncing: sysrq triggered crash',
    });
    expect(parseSys(fixture('crash-output/null-sys.txt')).panic).toBe('Oops: 0000 [#1] SMP');
  });

  it('sys: the seed write-up flattened onto one line', () => {
    expect(parseSys(fixture('panic-logs/seed002-crash-sys-flattened.txt'))).toMatchObject({
      cpus: 8,
      tasks: 256,
      nodename: 'zf-dbslave001',
      release: '3.10.0-1160.15.2.el7.x86_64',
      memory: '63 GB',
      panic: 'BUG: unable to handle kernel NULL pointer dereference at 0000000000000074',
      pid: 1362,
      command: 'AliYunDun',
      cpu: 5,
    });
  });

  it('bt -l: frames with source lines, the task line, the user registers', () => {
    const bt = parseBacktrace(fixture('crash-output/sysrq-bt_l.txt'));
    expect(bt).toMatchObject({ pid: 1, cpu: 0, command: 'init' });
    expect(bt.frames.map((f) => f.function).slice(0, 4)).toEqual([
      'machine_kexec',
      '__crash_kexec',
      'panic',
      '__handle_sysrq',
    ]);
    const sysrq = bt.frames.find((f) => f.function === '__handle_sysrq')!;
    expect(sysrq.file).toMatch(/drivers\/tty\/sysrq\.c$/);
    expect(sysrq.line).toBeGreaterThan(0);
    expect(bt.userRegisters.RIP).toMatch(/^0+47b7a0$/);
  });

  it('bt -l: the exception frame of an Oops in a module init', () => {
    const bt = parseBacktrace(fixture('crash-output/null-bt_l.txt'));
    expect(bt.command).toBe('insmod');
    const faulting = bt.frames.find((f) => f.exception)!;
    expect(faulting.function).toBe('asm_exc_page_fault');
    expect(faulting.exception?.rip).toBe('_MODULE_INIT_START_kdlab_null_deref+27');
    expect(faulting.exception?.registers).toMatchObject({ RIP: 'ffffffffc000501b', RAX: '0000000000000000' });
    expect(bt.frames.map((f) => f.function)).toContain('do_init_module');
  });

  it('bt: the seed write-up flattened onto one line', () => {
    const bt = parseBacktrace(fixture('panic-logs/seed002-crash-bt-flattened.txt'));
    expect(bt).toMatchObject({ pid: 1362, command: 'AliYunDun', cpu: 5 });
    expect(bt.frames.length).toBeGreaterThan(10);
    expect(bt.frames[0]).toMatchObject({ index: 0, function: 'machine_kexec', address: 'ffffffff922662c4' });
    expect(bt.frames[11]).toMatchObject({ function: 'kmem_cache_alloc_trace', sp: 'ffff90f9767a7b98' });
  });

  it('log -m: timestamps, levels, the panic excerpt marked', () => {
    const log = parseLog(fixture('crash-output/null-log_m.txt'));
    const bug = log.find((l) => l.text.startsWith('BUG: kernel NULL pointer dereference'))!;
    expect(bug).toMatchObject({ level: 1, panic: true });
    expect(bug.timestamp).toBeGreaterThan(0);
    expect(log[0]!.panic).toBe(false);
    expect(log.filter((l) => l.panic).at(-1)!.text).not.toBe('');
  });

  it('ps: every task, the active one marked', () => {
    const ps = parsePs(fixture('crash-output/sysrq-ps.txt'));
    expect(ps.length).toBe(28);
    expect(ps.filter((p) => p.active)).toEqual([
      expect.objectContaining({ pid: 1, comm: 'init', state: 'RU' }),
    ]);
    expect(ps.find((p) => p.pid === 2)).toMatchObject({ ppid: 0, comm: '[kthreadd]' });
  });

  it('mod: a module in the middle of loading; none at all', () => {
    expect(parseModules(fixture('crash-output/null-mod.txt'))).toEqual([
      { name: 'kdlab_null_deref', base: 'ffffffffc0000000', size: 16384, taint: null },
    ]);
    expect(parseModules(fixture('crash-output/sysrq-mod.txt'))).toEqual([]);
    expect(parseModules('', 'NAME  TAINTS\nkdlab_null_deref  OE\n')).toEqual([]);
  });

  it('renders Markdown and a self-contained, escaped HTML page', () => {
    const report: CrashReport = {
      vmcore: '/v/vmcore',
      vmlinux: '/k/vmlinux',
      crashVersion: '8.0.2',
      createdAt: '2026-11-22T00:00:00Z',
      summary: parseSys(fixture('crash-output/sysrq-sys.txt')),
      backtrace: parseBacktrace(fixture('crash-output/sysrq-bt_l.txt')),
      log: parseLog(fixture('crash-output/sysrq-log_m.txt')),
      processes: parsePs(fixture('crash-output/sysrq-ps.txt')),
      modules: [],
      disassembly: null,
      raw: {},
    };
    const md = renderMarkdown(report);
    expect(md).toContain('# Crash report: Kernel panic - not syncing: sysrq triggered crash');
    expect(md).toMatch(/\| 3 \| `__handle_sysrq` \| ffffffff81247bb5 \| .*sysrq\.c:\d+ \|/);
    const html = renderHtml({ ...report, summary: { ...report.summary, panic: '<script>x</script>' } });
    expect(html).toContain('&lt;script&gt;x&lt;/script&gt;');
    expect(html).not.toMatch(/<script|<link|src=/);
  });
});
