// crash(8) output parsers on real output captured from this lab's own vmcores (test/fixtures/crash-output)
// and on the seed write-up's flattened paste.
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import {
  crashWarnings,
  disassemblyCommand,
  parseBacktrace,
  parseBacktraces,
  parseExceptionRip,
  parseLog,
  parseModules,
  panicFacts,
  parsePs,
  parseSys,
  parseTaintedMask,
  summarize,
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
    // Every one of the 16 frames, and the user-mode registers printed after them.
    expect(bt.frames.map((f) => f.index)).toEqual([...Array(16).keys()]);
    expect(bt.userRegisters).toMatchObject({ R15: '000000000000052a', RAX: '000000000000004e' });
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
      { name: 'kdlab_null_deref', base: 'ffffffffc0000000', size: 16384, taint: null, taintFlags: [] },
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
      cpus: parseBacktraces(fixture('crash-output/sysrq-bt_a.txt')),
      disassembly: fixture('crash-output/sysrq-dis_l_r.txt'),
      raw: {},
      warnings: [],
    };
    const md = renderMarkdown(report);
    expect(md).toContain('# Crash report: Kernel panic - not syncing: sysrq triggered crash');
    expect(md).toMatch(/\| 3 \| `__handle_sysrq` \| ffffffff81247bb5 \| .*sysrq\.c:\d+ \|/);
    const html = renderHtml({ ...report, summary: { ...report.summary, panic: '<script>x</script>' } });
    expect(html).toContain('&lt;script&gt;x&lt;/script&gt;');
    expect(html).not.toMatch(/<script|<link|src=/);
    expect(md).toContain('## Faulting function (dis -l)');
  });

  it('exception RIP in a module init, in a module, in the kernel', () => {
    expect(parseExceptionRip('_MODULE_INIT_START_kdlab_null_deref+27')).toEqual({
      rip: '_MODULE_INIT_START_kdlab_null_deref+27',
      function: '_MODULE_INIT_START_kdlab_null_deref',
      offset: 27,
      module: 'kdlab_null_deref',
      inModuleInit: true,
      registers: {},
    });
    expect(parseExceptionRip('kdlab_read_flags+0x10 [kdlab_null_deref]')).toMatchObject({
      function: 'kdlab_read_flags',
      offset: 16,
      module: 'kdlab_null_deref',
      inModuleInit: false,
    });
    expect(parseExceptionRip('sysrq_handle_crash+22')).toMatchObject({ offset: 22, module: null });
    const bt = parseBacktrace(fixture('crash-output/null-bt.txt'));
    const exc = bt.frames.find((f) => f.exception)!.exception!;
    expect(exc).toMatchObject({ module: 'kdlab_null_deref', inModuleInit: true, offset: 27 });
    const md = renderMarkdown({
      ...emptyReport,
      backtrace: bt,
    });
    expect(md).toContain('in the init code of module kdlab_null_deref, offset 27');
  });

  it('plain bt (no -l): frames without source; bt -a: one backtrace per task', () => {
    const bt = parseBacktrace(fixture('crash-output/sysrq-bt.txt'));
    expect(bt.frames.map((f) => f.function).slice(0, 4)).toEqual([
      'machine_kexec',
      '__crash_kexec',
      'panic',
      '__handle_sysrq',
    ]);
    expect(bt.frames.every((f) => f.file === null)).toBe(true);
    expect(bt.userRegisters.ORIG_RAX).toBe('0000000000000001');
    // Two real single-CPU outputs one after the other, as bt -a prints them on an SMP guest.
    const all = parseBacktraces(
      `${fixture('crash-output/sysrq-bt_a.txt')}\n${fixture('crash-output/null-bt_a.txt')}`,
    );
    expect(all.map((b) => [b.pid, b.command])).toEqual([
      [1, 'init'],
      [35, 'insmod'],
    ]);
    expect(all[1]!.frames.find((f) => f.exception)?.exception?.inModuleInit).toBe(true);
  });

  it('dis -l target: the module init from its start, the caller of panic up to the call', () => {
    expect(disassemblyCommand(parseBacktrace(fixture('crash-output/null-bt_l.txt')))).toBe(
      'dis -l ffffffffc0005000 31',
    );
    expect(disassemblyCommand(parseBacktrace(fixture('crash-output/sysrq-bt_l.txt')))).toBe(
      'dis -l -r ffffffff81247bb5',
    );
    // The captured output of those commands shows the trapping instruction and the call.
    expect(fixture('crash-output/null-dis_l.txt')).toContain(
      '<_MODULE_INIT_START_kdlab_null_deref+27>:\tmov    0x10(%rax),%edi',
    );
    expect(fixture('crash-output/sysrq-dis_l_r.txt')).toMatch(
      /sysrq\.c: \d+\n.*<__handle_sysrq\+\d+>:\s+call/,
    );
  });

  it('plain log: no levels, same excerpt; mod -t taints', () => {
    const log = parseLog(fixture('crash-output/null-log.txt'));
    expect(log.every((l) => l.level === null)).toBe(true);
    expect(log.find((l) => l.text.startsWith('BUG: kernel NULL pointer dereference'))?.panic).toBe(true);
    expect(
      parseModules(fixture('crash-output/null-mod.txt'), fixture('crash-output/null-mod_t.txt')),
    ).toEqual([
      {
        name: 'kdlab_null_deref',
        base: 'ffffffffc0000000',
        size: 16384,
        taint: 'O',
        taintFlags: [{ flag: 'O', meaning: 'an out-of-tree (externally built) module was loaded' }],
      },
    ]);
  });

  it("crash's warnings: too old for the kernel (PID hash)", () => {
    expect(
      crashWarnings('WARNING: active task ffff8880001e8000 on cpu 0 not found in PID hash\n')[0],
    ).toMatch(/crash is too old for this kernel/);
    expect(crashWarnings('PANIC: "x"\n')).toEqual([]);
  });
});

describe('the panic card: headline, Oops line, RIP, fault address, taint', () => {
  const summaryOf = (kind: 'null' | 'sysrq') =>
    summarize(
      fixture(`crash-output/${kind}-sys.txt`),
      parseBacktrace(fixture(`crash-output/${kind}-bt_l.txt`)),
      parseLog(fixture(`crash-output/${kind}-log_m.txt`)),
      fixture(`crash-output/${kind}-sys_t.txt`),
    );

  it("a module Oops: the BUG line over crash's Oops string, the faulting RIP, the log's taint", () => {
    const s = summaryOf('null');
    expect(s).toMatchObject({
      panic: 'Oops: 0000 [#1] SMP',
      headline: 'BUG: kernel NULL pointer dereference, address: 0000000000000010',
      oops: 'Oops: 0000 [#1] SMP',
      faultAddress: '0x0000000000000010',
      rip: 'kdlab_null_deref_init+0x1b/0x1000 [kdlab_null_deref]',
      pid: 35,
      command: 'insmod',
      cpu: 0,
    });
    // `Tainted: G           O` on the panicking CPU's line; crash's sys -t reads tainted_mask 0x1000 (O).
    expect(s.taint).toEqual({
      flags: 'G O',
      mask: '1000',
      source: 'log',
      decoded: [
        { flag: 'G', meaning: 'all loaded modules are GPL-compatible (no proprietary module)' },
        { flag: 'O', meaning: 'an out-of-tree (externally built) module was loaded' },
      ],
    });
  });

  it('a sysrq panic: the panic string, no fault, not tainted', () => {
    const s = summaryOf('sysrq');
    expect(s).toMatchObject({
      headline: 'Kernel panic - not syncing: sysrq triggered crash',
      oops: null,
      faultAddress: null,
      rip: null,
      pid: 1,
      command: 'init',
    });
    expect(s.taint).toEqual({ flags: '', decoded: [], mask: '0', source: 'log' });
  });

  it("crash's sys -t alone (the log shows no CPU line): tainted_mask and its letters", () => {
    expect(parseTaintedMask(fixture('crash-output/null-sys_t.txt'))).toEqual({ mask: '1000', flags: 'O' });
    expect(parseTaintedMask(fixture('crash-output/sysrq-sys_t.txt'))).toEqual({ mask: '0', flags: '' });
    const s = summarize(
      fixture('crash-output/null-sys.txt'),
      parseBacktrace(fixture('crash-output/null-bt_l.txt')),
      [],
      fixture('crash-output/null-sys_t.txt'),
    );
    expect(s.taint).toEqual({
      flags: 'O',
      mask: '1000',
      source: 'crash',
      decoded: [{ flag: 'O', meaning: 'an out-of-tree (externally built) module was loaded' }],
    });
    // Without the log, the headline is unknown and the RIP comes from crash's exception frame.
    expect(s).toMatchObject({ headline: null, rip: '_MODULE_INIT_START_kdlab_null_deref+27' });
  });

  it('a WARNING before the Oops: the Oops is the crash, W joins the taint', () => {
    const f = panicFacts(parseLog(fixture('lab-logs/module-warn-then-null-deref.log')));
    expect(f).toMatchObject({
      headline: 'BUG: kernel NULL pointer dereference, address: 0000000000000070',
      oops: 'Oops: 0000 [#1] SMP',
      faultAddress: '0x0000000000000070',
      rip: 'kdlab_read_flags+0x40/0x1000 [kdlab_null]',
    });
    expect(f.taint?.decoded.map((d) => d.flag)).toEqual(['G', 'W', 'O']);
    expect(f.taint?.decoded[1]?.meaning).toMatch(/warning/);
  });

  it('a BUG_ON in a module: the kernel BUG line, the invalid opcode Oops, no fault address', () => {
    expect(panicFacts(parseLog(fixture('lab-logs/module-bug.log')))).toMatchObject({
      headline: expect.stringMatching(/^kernel BUG at .*kdlab_bug\.c:5!$/) as unknown,
      oops: 'invalid opcode: 0000 [#1] SMP',
      faultAddress: null,
      rip: 'kdlab_do_bug+0x40/0x1000 [kdlab_bug]',
    });
  });

  it('exports carry the headline, the Oops line, RIP, fault address and the decoded taint', () => {
    const null_ = {
      ...emptyReport,
      summary: summaryOf('null'),
      backtrace: parseBacktrace(fixture('crash-output/null-bt_l.txt')),
      modules: parseModules(fixture('crash-output/null-mod.txt'), fixture('crash-output/null-mod_t.txt')),
    };
    const md = renderMarkdown(null_);
    expect(md).toContain('# Crash report: BUG: kernel NULL pointer dereference, address: 0000000000000010');
    expect(md).toContain('| Oops | Oops: 0000 [#1] SMP |');
    expect(md).toContain('| Faulting RIP | kdlab_null_deref_init+0x1b/0x1000 [kdlab_null_deref] |');
    expect(md).toContain('| Fault address | 0x0000000000000010 |');
    expect(md).toContain('| Taint | G O (tainted_mask 0x1000) |');
    expect(md).toContain('- **O**: an out-of-tree (externally built) module was loaded');
    expect(md).toContain('taint O (O: an out-of-tree (externally built) module was loaded)');
    const html = renderHtml({ ...null_, warnings: ['crash reports a kernel version inconsistency'] });
    expect(html).toContain(
      '<h1 class="panic">BUG: kernel NULL pointer dereference, address: 0000000000000010</h1>',
    );
    expect(html).toContain(
      '<td>Faulting RIP</td><td>kdlab_null_deref_init+0x1b/0x1000 [kdlab_null_deref]</td>',
    );
    expect(html).toContain('<li><code>O</code>: an out-of-tree (externally built) module was loaded</li>');
    expect(html).toContain('Warning: crash reports a kernel version inconsistency');
    const sysrq = renderMarkdown({ ...emptyReport, summary: summaryOf('sysrq') });
    expect(sysrq).toContain('| Taint | not tainted (tainted_mask 0x0) |');
    expect(sysrq).not.toContain('Faulting RIP');
  });
});

const emptyReport: CrashReport = {
  vmcore: '/v/vmcore',
  vmlinux: '/k/vmlinux',
  crashVersion: null,
  createdAt: '2026-11-22T00:00:00Z',
  summary: parseSys(''),
  backtrace: parseBacktrace(''),
  cpus: [],
  log: [],
  processes: [],
  modules: [],
  disassembly: null,
  raw: {},
  warnings: [],
};
