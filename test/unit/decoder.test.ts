// The panic-log decoder on real logs: the seeds' console excerpts, logs from public bug reports, and
// this lab's own crashes, each with its expected fields checked by hand (*.expected.json beside it).
import { readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { decodeText, formatReports, LogDecoder } from '../../electron/lab/analyze/decoder';
import type { DecodedReport } from '../../electron/lab/analyze/decoder';
import { normalizeLine } from '../../electron/lab/analyze/decoder/normalize';
import {
  lookupAddress,
  parseAddr2line,
  parseObjdump,
  parseSymbolMap,
} from '../../electron/lab/analyze/decoder/symbolize';
import { decodePageFaultError, decodeWaitStatus } from '../../electron/lab/analyze/decoder/tables';

const fixtures = join(__dirname, '..', 'fixtures');

/** The file-level view the fixtures describe: the first report, plus the panic the log ends in. */
function summarize(reports: DecodedReport[]): Record<string, unknown> {
  const r = reports[0];
  const panic = reports.find((x) => x.panic);
  const exit = reports.find((x) => x.exitCode !== null);
  return {
    arch: r?.arch ?? null,
    kind: r?.kind ?? null,
    panic: panic !== undefined,
    panicMessage: panic?.panicMessage ?? null,
    faultingAddress: r?.faultingAddress ?? null,
    function: r?.function ?? null,
    offset: r?.offset ?? null,
    length: r?.length ?? null,
    module: r?.module ?? null,
    comm: r?.comm ?? null,
    pid: r?.pid ?? null,
    cpu: r?.cpu ?? null,
    kernelRelease: r?.kernelRelease ?? null,
    tainted: r?.tainted ?? null,
    callTraceTop: (r?.callTrace ?? [])
      .filter((f) => f.reliable)
      .slice(0, 5)
      .map((f) => f.function),
    exitCode: exit?.exitCode ?? null,
    exitStatus: exit?.exitStatus ?? null,
    userSegfault: r?.userSegfault
      ? {
          address: r.userSegfault.address,
          ip: r.userSegfault.ip,
          object: r.userSegfault.object,
          base: r.userSegfault.base,
          offsetInObject: r.userSegfault.offsetInObject,
        }
      : null,
    reports: reports.length,
  };
}

function cases(dir: string): { name: string; log: string; expected: Record<string, unknown> }[] {
  const folder = join(fixtures, dir);
  return readdirSync(folder)
    .filter((f) => /\.(log|txt)$/.test(f))
    .map((f) => ({
      name: f,
      log: readFileSync(join(folder, f), 'utf8'),
      expected: JSON.parse(
        readFileSync(join(folder, f.replace(/\.(log|txt)$/, '.expected.json')), 'utf8'),
      ) as Record<string, unknown>,
    }));
}

describe.each(['real-logs', 'panic-logs', 'lab-logs'])('decoding every log in test/fixtures/%s', (dir) => {
  const all = cases(dir);
  it('has fixtures with expectations', () => {
    expect(all.length).toBeGreaterThan(3);
  });
  it.each(all)('$name', ({ log, expected }) => {
    const got = summarize(decodeText(log));
    for (const [key, value] of Object.entries(expected)) {
      if (key === 'source') continue;
      expect({ [key]: got[key] }).toEqual({ [key]: value });
    }
  });
});

function decodeFixture(dir: string, name: string): DecodedReport[] {
  return decodeText(readFileSync(join(fixtures, dir, name), 'utf8'));
}

describe('report details', () => {
  it('seed000: the segfault of PID 1 and the panic it caused are one report, with the trapping byte marked', () => {
    const [r, ...rest] = decodeFixture('panic-logs', 'seed000-init-segfault-libmbase.log');
    expect(rest).toHaveLength(0);
    expect(r!.userSegfault).toMatchObject({
      sp: '0x00007ffde990f410',
      error: '4',
      size: '0x17000',
      fileOffset: null,
      errorDecoded: 'user-mode read of a page that is not present',
    });
    expect(r!.code).toMatchObject({ context: 'user', trapIndex: 42, note: null });
    expect(r!.code!.bytes[42]).toBe('f6');
    expect(r!.taintFlags).toEqual([
      { flag: 'G', meaning: expect.stringContaining('GPL') },
      { flag: 'O', meaning: expect.stringContaining('out-of-tree') },
    ]);
    const text = [r!.explanation.summary, ...r!.explanation.likelyCauses].map((c) => c.en).join('\n');
    expect(text).toContain('libmbase.so at offset 0x11e2');
    expect(text).toContain('0x3ab8');
    expect(text).toMatch(/signal handler .*exit\(0\)/);
    expect(text).toMatch(/out-of-tree \(O\)/);
  });

  it('seed002: the flattened paste with non-breaking spaces splits into its lines', () => {
    const [r] = decodeFixture('panic-logs', 'seed002-flattened-null-deref-0x74.log');
    expect(r!.address).toBe('0xffffffffc02d74c0');
    expect(r!.oops).toBe('Oops: 0000 [#1] SMP');
    expect(r!.registers).toMatchObject({
      CR2: '0x0000000000000074',
      RAX: '0xfffffffffffffbd0',
      R15: '0xffff90f9707aa000',
    });
    expect(r!.excerpt.length).toBeGreaterThan(15);
    expect(r!.explanation.summary.en).toContain('field offset of 0x74');
  });

  it('seed002: crash sys and bt output pasted flat are read too', () => {
    const [bt] = decodeFixture('panic-logs', 'seed002-crash-bt-flattened.txt');
    expect(bt!.callTrace).toHaveLength(16);
    expect(bt!.callTrace[15]).toMatchObject({
      function: 'system_call_fastpath',
      address: '0xffffffff92994f92',
    });
  });

  it('real 01: a NULL function pointer call (RIP 0) is explained as one; CR2 in the dump is not the address', () => {
    const [r] = decodeFixture('real-logs', '01-x86_64-null-deref-rip-zero-syslog.log');
    expect(r!.address).toBe('0x0');
    expect(r!.code).toMatchObject({ bytes: [], note: 'Bad RIP value.' });
    expect(r!.registers.CR2).toBe('0xffffffffffffffd6');
    expect(r!.explanation.summary.en).toContain('NULL function pointer');
  });

  it('real 04: a Code: line cut by journalctl is kept and flagged', () => {
    const [r] = decodeFixture('real-logs', '04-x86_64-gpf-noncanonical-journal.log');
    expect(r!.code!.trapIndex).toBe(42); // x86_64 prints 42 bytes before RIP
    expect(r!.code!.note).toContain('cut');
    expect(r!.taintFlags.map((f) => f.flag)).toEqual(['P', 'O', 'T']);
  });

  it('real 08: two hung tasks are two reports; khungtaskd NMI backtraces do not leak in', () => {
    const reports = decodeFixture('real-logs', '08-x86_64-hung-task-dmesg-human.log');
    expect(reports.map((r) => [r.kind, r.comm, r.pid])).toEqual([
      ['hung-task', 'iscsi_np', 8387],
      ['hung-task', 'iscsi_ttx', 8863],
    ]);
    expect(reports[1]!.function).toBeNull();
    expect(reports[1]!.registers).toEqual({});
  });

  it('real 10 and 12: the init panic is attached to the oops / OOM that caused it', () => {
    const [oops] = decodeFixture('real-logs', '10-x86_64-null-deref-boot-init-exit-09.log');
    expect(oops!.callTrace.every((f) => !f.reliable)).toBe(true);
    expect(oops!.explanation.likelyCauses.map((c) => c.en).join('\n')).toContain('SIGKILL');
    const [oom] = decodeFixture('real-logs', '12-x86_64-oom-memcg-then-init-exit-8b.log');
    expect(oom!.oom).toMatchObject({ invokedBy: 'a.out', constraint: 'CONSTRAINT_NONE' });
    expect(oom!.oom!.victims.slice(0, 2)).toEqual([
      { pid: 9188, comm: 'a.out' },
      { pid: 1, comm: 'systemd' },
    ]);
    expect(oom!.explanation.likelyCauses.map((c) => c.en).join('\n')).toMatch(/memory cgroup limit/);
  });

  it('real 14: Failed to execute /init (error -2) is ENOENT, with the interpreter/loader caveat', () => {
    const [r] = decodeFixture('real-logs', '14-x86_64-no-working-init.log');
    expect(r!.initFailure).toEqual({
      path: '/init',
      errno: -2,
      errnoName: 'ENOENT',
      meaning: 'no such file or directory',
    });
    expect(r!.explanation.likelyCauses.map((c) => c.en).join('\n')).toMatch(/interpreter or its ELF loader/);
  });

  it('real 17 and 18: arm64 and arm sites, registers and traces', () => {
    const [a64] = decodeFixture('real-logs', '17-arm64-paging-fault-loglevel-prefix.log');
    expect(a64!.registers).toMatchObject({ x29: '0xffff80008000be70', x0: '0xffff0000c4f83440' });
    expect(a64!.code).toMatchObject({
      trapIndex: 4,
      bytes: ['d50343df', 'aa0003f3', 'f9401008', 'd53cd049', 'b8a86935'],
    });
    const [arm] = decodeFixture('real-logs', '18-arm-null-deref-oldstyle.log');
    expect(arm!.oops).toBe('Oops: 805 [#1] SMP ARM');
    expect(arm!.callTrace[1]).toMatchObject({
      function: 'generic_perform_write',
      offset: '0xa8',
      length: '0x1c0',
    });
    expect(arm!.registers).toMatchObject({ r2: '0x00000009', pc: '0xc0333330' });
  });

  it('lab: a clean boot whose console mentions "Attempted to kill init!" in prose has no report', () => {
    expect(decodeFixture('lab-logs', 'clean-boot-shell.log')).toEqual([]);
  });

  it('lab: the capture kernel booting after a sysrq crash ends the report', () => {
    const [r] = decodeFixture('lab-logs', 'sysrq-kdump-capture.log');
    expect(r!.lines).toEqual({ first: 228, last: 257 });
    expect(r!.explanation.summary.en).toContain('deliberate');
  });
});

describe('line normalisation', () => {
  const norm = (raw: string) => {
    const out: { text: string; kernel: boolean }[] = [];
    normalizeLine(raw, (l) => out.push(l));
    return out;
  };

  it.each([
    ['Feb 16 22:10:37 t44 kernel: BUG: x', 'BUG: x'],
    ['févr. 16 22:10:37 t44 kernel: BUG: x', 'BUG: x'],
    ['16. Feb 22:10:37 host kernel: BUG: x', 'BUG: x'],
    ['2月 16 22:10:37 host kernel: BUG: x', 'BUG: x'],
    ['дек 08 22:53:26 amdlaptop kernel: BUG: x', 'BUG: x'],
    ['2024-02-16T22:10:37.123456+01:00 host kernel: BUG: x', 'BUG: x'],
    ['Sep 02 13:40:35 kernel: BUG: x', 'BUG: x'],
    ['kernel: BUG: x', 'BUG: x'],
    ['<4>[  399.000045] BUG: x', 'BUG: x'],
    ['[  37.052923][ T9185] BUG: x', 'BUG: x'],
    ['[May 7 20:30] BUG: x', 'BUG: x'],
    ['[  +0.000004] BUG: x', 'BUG: x'],
    ['[Thu Mar  4 10:12:38 2021] BUG: x', 'BUG: x'],
    ['[    2.427517]  dump_stack+0x19/0x1b\r', ' dump_stack+0x19/0x1b'],
    ['\u001b[0;33mRIP\u001b[0;1m: 0010:f+0x1/0x2\u001b[0m', 'RIP: 0010:f+0x1/0x2'],
  ])('%j → %j', (raw, text) => {
    expect(norm(raw)).toEqual([{ text, kernel: true }]);
  });

  it('marks user-space syslog and kmsg lines', () => {
    expect(norm('Feb 16 22:09:01 t44 CROND[8918]: (root) CMD (x)')).toEqual([
      { text: '(root) CMD (x)', kernel: false },
    ]);
    expect(norm('<47>[  366.411270] systemd-journald[84]: Sent WATCHDOG=1')[0]!.kernel).toBe(false);
  });

  it('splits lines glued together, non-breaking spaces included', () => {
    expect(
      norm('[\u00a0 305.1]\u00a0BUG:\u00a0x [\u00a0 305.101048]\u00a0IP:\u00a0[] 0x1 [  305.101653] PGD 0'),
    ).toEqual([
      { text: 'BUG: x', kernel: true },
      { text: 'IP: [] 0x1', kernel: true },
      { text: 'PGD 0', kernel: true },
    ]);
  });
});

describe('tables', () => {
  it.each([
    [0x0, { exited: 0 }],
    [0x7f00, { exited: 127 }],
    [0x200, { exited: 2 }],
    [0x9, { signal: 9, signalName: 'SIGKILL', coreDumped: false }],
    [0xb, { signal: 11, signalName: 'SIGSEGV', coreDumped: false }],
    [0x8b, { signal: 11, signalName: 'SIGSEGV', coreDumped: true }],
    [0x86, { signal: 6, signalName: 'SIGABRT', coreDumped: true }],
  ])('wait status %i', (code, status) => {
    expect(decodeWaitStatus(code)).toEqual(status);
  });

  it('page-fault error bits', () => {
    expect(decodePageFaultError('6')).toBe('user-mode write of a page that is not present');
    expect(decodePageFaultError('15')).toBe(
      'user-mode instruction fetch on a present page (protection violation)',
    );
  });
});

describe('single lines and small logs', () => {
  it('parses the newer segfault format OBJ[OFFSET,BASE+SIZE]', () => {
    const [r] = decodeText(
      'a.out[4242]: segfault at 8 ip 000055d7f7c5a13d sp 00007ffe2c2b1b40 error 4 in a.out[113d,55d7f7c59000+1000] likely on CPU 3 (core 3, socket 0)\n',
    );
    expect(r).toMatchObject({
      kind: 'user-segfault',
      comm: 'a.out',
      pid: 4242,
      cpu: 3,
      faultingAddress: '0x8',
    });
    expect(r!.userSegfault).toMatchObject({
      base: '0x55d7f7c59000',
      offsetInObject: '0x113d',
      fileOffset: '0x113d',
    });
    expect(r!.explanation.likelyCauses.map((c) => c.en).join('\n')).toContain('field offset of 0x8');
  });

  it.each([
    ['Failed to execute /init (error -8)', 'ENOEXEC', /#!/],
    ['Failed to execute /init (error -13)', 'EACCES', /chmod/],
  ])('%s', (line, name, step) => {
    const [r] = decodeText(
      `Run /init as init process\n${line}\nKernel panic - not syncing: No working init found.\n`,
    );
    expect(r!.initFailure!.errnoName).toBe(name);
    expect(r!.panic).toBe(true);
    expect([...r!.explanation.likelyCauses, ...r!.explanation.nextSteps].map((c) => c.en).join('\n')).toMatch(
      step,
    );
  });

  it('Requested init … failed carries its errno in the panic message', () => {
    const [r] = decodeText('Kernel panic - not syncing: Requested init /sbin/foo failed (error -2).\n');
    expect(r!.initFailure).toMatchObject({ path: '/sbin/foo', errnoName: 'ENOENT' });
  });

  it('i386: EIP site, EAX registers', () => {
    const [r] = decodeText(
      [
        'BUG: kernel NULL pointer dereference, address: 00000010',
        'Oops: 0000 [#1] SMP',
        'CPU: 0 PID: 77 Comm: insmod Tainted: G           O      5.10.0 #1',
        'EIP: demo_init+0x5/0x20 [demo]',
        'EAX: 00000000 EBX: c1e4a000 ECX: 00000000 EDX: 00000001',
        'Call Trace:',
        ' do_one_initcall+0x40/0x1d0',
        ' do_int80_syscall_32+0x2c/0x40',
      ].join('\n'),
    );
    expect(r).toMatchObject({
      arch: 'i386',
      function: 'demo_init',
      module: 'demo',
      faultingAddress: '0x00000010',
    });
    expect(r!.registers.EAX).toBe('0x00000000');
  });

  it('an old-kernel sysrq crash (a NULL dereference in sysrq_handle_crash) stays one sysrq report', () => {
    const reports = decodeText(
      [
        'SysRq : Trigger a crash',
        'BUG: unable to handle kernel NULL pointer dereference at           (null)',
        'IP: [<ffffffff813b4a16>] sysrq_handle_crash+0x16/0x20',
        'Oops: 0002 [#1] SMP',
        'CPU: 1 PID: 4321 Comm: bash Not tainted 3.10.0-957.el7.x86_64 #1',
      ].join('\n'),
    );
    expect(reports).toHaveLength(1);
    expect(reports[0]).toMatchObject({
      kind: 'sysrq',
      function: 'sysrq_handle_crash',
      faultingAddress: '0x0',
      comm: 'bash',
    });
  });

  it('a WARN with panic_on_warn ends in a panic attached to the warning', () => {
    const reports = decodeText(
      [
        'WARNING: CPU: 0 PID: 1 at drivers/x.c:10 f+0x1/0x2',
        'CPU: 0 PID: 1 Comm: swapper/0 Not tainted 6.1.0 #1',
        'Kernel panic - not syncing: kernel: panic_on_warn set ...',
      ].join('\n'),
    );
    expect(reports).toHaveLength(1);
    expect(reports[0]).toMatchObject({ kind: 'warning', panic: true, function: 'f' });
  });
});

describe('streaming', () => {
  it('gives the same reports whatever the chunk boundaries', () => {
    const log = readFileSync(
      join(fixtures, 'real-logs', '12-x86_64-oom-memcg-then-init-exit-8b.log'),
      'utf8',
    );
    const whole = decodeText(log);
    for (const size of [1, 7, 64, 4096]) {
      const d = new LogDecoder();
      for (let i = 0; i < log.length; i += size) d.push(log.slice(i, i + size));
      expect(d.finish()).toEqual(whole);
    }
  });

  it('human output puts the explanation first and says when nothing was found', () => {
    const text = formatReports(decodeFixture('panic-logs', 'seed001-systemd-exitcode-7f00.log'));
    const lines = text.split('\n');
    expect(lines[0]).toMatch(/^Report 1 of 1: init-exit → panic/);
    expect(lines[2]).toContain('exited with status 127');
    expect(text).toContain('Exit code:        0x00007f00 = exited with status 127');
    expect(formatReports([])).toMatch(/^No kernel crash/);
  });
});

describe('symbolization output parsers', () => {
  it('addr2line -f -i -a: inline chains, innermost first', () => {
    const out = parseAddr2line(
      [
        '0xffffffff8104b0cd',
        '__dump_stack',
        '/src/lib/dump_stack.c:91',
        'dump_stack_lvl',
        '/src/lib/dump_stack.c:109 (discriminator 3)',
        '0xffffffff81000000',
        '??',
        '??:0',
        '',
      ].join('\n'),
    );
    expect(out.get(0xffffffff8104b0cdn)).toEqual([
      { function: '__dump_stack', file: '/src/lib/dump_stack.c', line: 91, inlined: true },
      { function: 'dump_stack_lvl', file: '/src/lib/dump_stack.c', line: 109, inlined: false },
    ]);
    expect(out.get(0xffffffff81000000n)).toEqual([]);
  });

  it('objdump -D -b binary lines, long instructions continued', () => {
    const out = parseObjdump(
      'ffffffff81000004:\tf6 80 b8 3a 00 00 02 \ttestb  $0x2,0x3ab8(%rax)\n   8:\t48 b8 01 02 03 04 05 \tmovabs $0x807060504030201,%rax\n   f:\t06 07 08 \n',
    );
    expect(out).toEqual([
      { offset: 0xffffffff81000004n, bytes: 'f6 80 b8 3a 00 00 02', instruction: 'testb $0x2,0x3ab8(%rax)' },
      { offset: 8n, bytes: '48 b8 01 02 03 04 05 06 07 08', instruction: 'movabs $0x807060504030201,%rax' },
    ]);
  });

  it('System.map lookups both ways', () => {
    const t = parseSymbolMap(
      'ffffffff81000000 T _text\nffffffff81001000 t foo\nffffffff81002000 D some_data\nffffffff81003000 T bar\n',
    );
    expect(t.byName.get('foo')).toBe(0xffffffff81001000n);
    expect(lookupAddress(t, 0xffffffff81001010n)).toEqual({ name: 'foo', offset: 0x10n });
    expect(t.byName.has('some_data')).toBe(false);
  });
});
