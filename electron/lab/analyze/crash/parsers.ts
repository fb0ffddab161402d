// Parsers for crash(8) output: `sys`, `bt -l`, `log -m`, `ps`, `mod -t`. Pure functions over text;
// they also accept the flattened pastes people put in write-ups (newlines lost).
import type {
  CrashBacktrace,
  CrashException,
  CrashFrame,
  CrashLogLine,
  CrashModule,
  CrashSummary,
  CrashTask,
  CrashTaint,
} from './types';
import { decodeText } from '../decoder';
import type { DecodedReport } from '../decoder';
import { decodeTaint } from '../decoder/tables';

/** Pasted output often carries non-breaking and other Unicode spaces; crash itself prints ASCII. */
const plain = (text: string) => text.replace(/[\u00a0\u2000-\u200b\u202f\u3000]/g, ' ').replace(/\r/g, '');

const num = (s: string | undefined | null): number | null => {
  if (s === undefined || s === null) return null;
  const n = Number(s);
  return Number.isFinite(n) ? n : null;
};

const sysKeys: Record<string, keyof CrashSummary> = {
  KERNEL: 'kernel',
  DUMPFILE: 'dumpfile',
  CPUS: 'cpus',
  DATE: 'date',
  UPTIME: 'uptime',
  'LOAD AVERAGE': 'loadAverage',
  TASKS: 'tasks',
  NODENAME: 'nodename',
  RELEASE: 'release',
  VERSION: 'version',
  MACHINE: 'machine',
  MEMORY: 'memory',
  PANIC: 'panic',
  PID: 'pid',
  COMMAND: 'command',
  TASK: 'task',
  CPU: 'cpu',
  STATE: 'state',
};

export function parseSys(text: string): CrashSummary {
  text = plain(text);
  const summary: CrashSummary = {
    kernel: null,
    dumpfile: null,
    cpus: null,
    date: null,
    uptime: null,
    loadAverage: null,
    tasks: null,
    nodename: null,
    release: null,
    version: null,
    machine: null,
    memory: null,
    panic: null,
    pid: null,
    command: null,
    task: null,
    cpu: null,
    state: null,
    headline: null,
    oops: null,
    faultAddress: null,
    rip: null,
    taint: null,
  };
  // Works on line-per-key output and on a flattened paste: split before each known KEY:.
  const keys = Object.keys(sysKeys)
    .sort((a, b) => b.length - a.length)
    .map((k) => k.replace(' ', '\\s'));
  const splitter = new RegExp(`(?:^|\\s)(${keys.join('|')}):\\s`, 'g');
  const marks: { key: string; start: number; end: number }[] = [];
  for (let m = splitter.exec(text); m; m = splitter.exec(text))
    marks.push({ key: m[1]!.replace(/\s+/, ' '), start: m.index, end: m.index + m[0].length });
  marks.forEach((mark, i) => {
    const value = text
      .slice(mark.end, marks[i + 1]?.start ?? text.length)
      .trim()
      .split('\n')[0]!
      .trim();
    const field = sysKeys[mark.key];
    if (!field || summary[field] !== null) return;
    if (field === 'cpus' || field === 'tasks' || field === 'pid' || field === 'cpu')
      (summary as unknown as Record<string, unknown>)[field] = num(/^\d+/.exec(value)?.[0]);
    else if (field === 'panic' || field === 'command')
      (summary as unknown as Record<string, unknown>)[field] = /^"([^"]*)"/.exec(value)?.[1] ?? value;
    else (summary as unknown as Record<string, unknown>)[field] = value;
  });
  return summary;
}

export function parseBacktrace(text: string): CrashBacktrace {
  text = plain(text);
  const head = /PID:\s*(\d+)\s+TASK:\s*([0-9a-f]+)\s+CPU:\s*(\d+)\s+COMMAND:\s*"([^"]*)"/.exec(text);
  const bt: CrashBacktrace = {
    pid: num(head?.[1]),
    task: head?.[2] ?? null,
    cpu: num(head?.[3]),
    command: head?.[4] ?? null,
    frames: [],
    userRegisters: {},
  };
  // Frames may be glued on one line in pastes: cut before every "#N [".
  const body = text.replace(/\s(#\d+ \[)/g, '\n$1').replace(/\s(\[exception RIP:)/g, '\n$1');
  let last: CrashFrame | null = null;
  let exception: CrashException | null = null;
  let afterFrames = false;
  for (const full of body.split('\n')) {
    let line = full;
    const frame = /^\s*#(\d+)\s+\[([0-9a-f]+)\]\s+(\S+)\s+at\s+([0-9a-f]+)(?:\s+\[(\S+)\])?/.exec(line);
    if (frame) {
      if (exception && last) last.exception = exception;
      exception = null;
      last = {
        index: Number(frame[1]),
        sp: frame[2]!,
        function: frame[3]!,
        address: frame[4]!,
        module: frame[5] ?? null,
        file: null,
        line: null,
        exception: null,
      };
      bt.frames.push(last);
      afterFrames = false;
      // In a flattened paste the registers after the last frame share its line.
      line = full.slice(frame.index + frame[0].length);
      if (!line.trim()) continue;
    }
    const source = /^\s+(\/\S+|\S+\.[chS]):\s*(\d+)\s*$/.exec(line);
    if (source && last && last.file === null) {
      last.file = source[1]!;
      last.line = Number(source[2]);
      continue;
    }
    const exc = /\[exception RIP:\s*([^\]]+)\]/.exec(line);
    if (exc) exception = parseExceptionRip(exc[1]!.trim());
    const regs = [...line.matchAll(/\b([A-Z][A-Z0-9_]{1,7}):\s+([0-9a-f]{4,16})\b/g)].filter(
      (r) => !['PID', 'TASK', 'CPU'].includes(r[1]!),
    );
    if (regs.length) {
      const target = exception ? exception.registers : bt.userRegisters;
      for (const r of regs) target[r[1]!] = r[2]!;
      afterFrames = true;
    }
  }
  if (exception && last) last.exception = exception;
  void afterFrames;
  return bt;
}

/** `sysrq_handle_crash+22`, `foo+0x1b [mod]`, `_MODULE_INIT_START_kdlab_null_deref+27`. */
export function parseExceptionRip(rip: string): CrashException {
  const m = /^([^\s+]+)(?:\+(0x[0-9a-f]+|\d+))?(?:\s+\[(\w+)\])?/.exec(rip);
  const fn = m?.[1] ?? rip;
  const init = /^_MODULE_INIT_START_(\w+)$/.exec(fn);
  return {
    rip,
    function: fn,
    offset: m?.[2] !== undefined ? Number(m[2]) : null,
    module: init?.[1] ?? m?.[3] ?? null,
    inModuleInit: init !== null,
    registers: {},
  };
}

/**
 * The `dis -l` command that shows the faulting code: the function up to the trapping instruction of
 * an exception frame; a module's init code from its start (crash has no end symbol for it, so `-r`
 * fails there); without an exception, the caller of panic() up to the call.
 */
export function disassemblyCommand(bt: CrashBacktrace): string | null {
  const faulting = bt.frames.find((f) => f.exception)?.exception;
  const rip = faulting?.registers.RIP;
  if (faulting && rip) {
    if (faulting.inModuleInit && faulting.offset !== null) {
      const start = (BigInt(`0x${rip}`) - BigInt(faulting.offset)).toString(16);
      // x86 instructions are at least 1 byte: offset + a few lines reach past the trapping one.
      return `dis -l ${start} ${Math.min(faulting.offset + 4, 64)}`;
    }
    return `dis -l -r ${rip}`;
  }
  const panicAt = bt.frames.findIndex((f) => f.function === 'panic');
  const caller = panicAt >= 0 ? bt.frames[panicAt + 1] : undefined;
  return caller?.address ? `dis -l -r ${caller.address}` : null;
}

/** `bt -a` (and `foreach bt`): one backtrace per `PID:` header. */
export function parseBacktraces(text: string): CrashBacktrace[] {
  const parts = plain(text).split(/(?=PID:\s*\d+\s+TASK:)/);
  return parts.filter((p) => /^PID:/.test(p)).map((p) => parseBacktrace(p));
}

/** crash's warnings that make parts of the report unreliable, explained. */
export function crashWarnings(output: string): string[] {
  const warnings: string[] = [];
  if (/not found in PID hash/.test(output))
    warnings.push(
      "crash is too old for this kernel: tasks are 'not found in PID hash' (struct pid's numbers[] became a flexible array in 6.1.y, which crash 8.0.2 does not read), so ps and per-task lookups are incomplete. Lab kernels carry a compatibility patch; for other kernels use a newer crash, or `list task_struct.tasks -s task_struct.pid,comm -h init_task`.",
    );
  if (/WARNING: kernel version inconsistency/.test(output))
    warnings.push('crash reports a kernel version inconsistency between vmlinux and the dump.');
  return warnings;
}

const reportStart =
  /(Kernel panic - not syncing|BUG: |Oops: |kernel BUG at|general protection fault|sysrq: Trigger a crash|watchdog: BUG: soft lockup|INFO: task .* blocked)/;

export function parseLog(text: string): CrashLogLine[] {
  text = plain(text);
  const lines: CrashLogLine[] = [];
  for (const raw of text.split('\n')) {
    if (!raw.trim()) continue;
    const m = /^\[\s*(\d+\.\d+)\]\s*(?:<(\d)>)?(.*)$/.exec(raw);
    if (m)
      lines.push({
        timestamp: Number(m[1]),
        level: m[2] !== undefined ? Number(m[2]) : null,
        text: m[3]!,
        panic: false,
      });
    else lines.push({ timestamp: null, level: null, text: raw, panic: false });
  }
  // The panic excerpt: from the first report line of the last burst to the end of the log.
  let start = -1;
  for (let i = lines.length - 1; i >= 0 && i >= lines.length - 200; i -= 1)
    if (reportStart.test(lines[i]!.text)) start = i;
  if (start >= 0) for (let i = start; i < lines.length; i += 1) lines[i]!.panic = true;
  return lines;
}

export function parsePs(text: string): CrashTask[] {
  text = plain(text);
  const tasks: CrashTask[] = [];
  const body = text.replace(/\s(>?\s+\d+\s+\d+\s+\d+\s+[0-9a-f]{8,16}\s)/g, '\n$1');
  for (const line of body.split('\n')) {
    const m =
      /^\s*(>)?\s*(\d+)\s+(\d+)\s+(\d+)\s+([0-9a-f]{8,16})\s+([A-Z]{2})\s+([\d.]+)\s+(\d+)\s+(\d+)\s+(.+?)\s*$/.exec(
        line,
      );
    if (!m) continue;
    tasks.push({
      pid: Number(m[2]),
      ppid: Number(m[3]),
      cpu: Number(m[4]),
      task: m[5]!,
      state: m[6]!,
      memPercent: Number(m[7]),
      vsz: Number(m[8]),
      rss: Number(m[9]),
      comm: m[10]!,
      active: m[1] === '>',
    });
  }
  return tasks;
}

/** `mod` rows (MODULE NAME TEXT_BASE SIZE OBJECT-FILE) and `mod -t` rows (NAME TAINTS). */
export function parseModules(modText: string, taintText = ''): CrashModule[] {
  const taints = new Map<string, string>();
  for (const line of taintText.split('\n')) {
    const m = /^\s*(\w+)\s+([A-Z()]+)\s*$/.exec(line);
    if (m && m[1] !== 'NAME') taints.set(m[1]!, m[2]!);
  }
  const modules: CrashModule[] = [];
  for (const line of modText.split('\n')) {
    const m = /^\s*[0-9a-f]{8,16}\s+(\w+)\s+([0-9a-f]{8,16})\s+(\d+)/.exec(line);
    if (m) {
      const taint = taints.get(m[1]!) ?? null;
      modules.push({
        name: m[1]!,
        base: m[2]!,
        size: Number(m[3]),
        taint,
        taintFlags: decodeTaint(taint?.replace(/[^A-Z]/g, '') ?? null),
      });
    }
  }
  return modules;
}

/** crash's `sys -t`: `TAINTED_MASK: 1000  O` (no letters when the mask is 0). */
export function parseTaintedMask(text: string): { mask: string; flags: string } | null {
  const m = /TAINTED_MASK:\s*([0-9a-f]+)[ \t]*([A-Z]*)/.exec(plain(text));
  return m ? { mask: m[1]!, flags: m[2]! } : null;
}

/** Decoder kinds that do not bring a kernel down by themselves: the crash is a later report. */
const minorKinds = new Set(['warning', 'user-segfault']);

/**
 * What the panic log says about the crash, read by the panic-log decoder: the report's headline (the
 * BUG line, or the panic string), its Oops line, fault address, faulting RIP and the panicking CPU's
 * taint; crash's `sys -t` (tainted_mask) gives the taint when the log does not show it.
 */
export function panicFacts(
  log: CrashLogLine[],
  sysT = '',
): Pick<CrashSummary, 'headline' | 'oops' | 'faultAddress' | 'rip' | 'taint'> {
  // crash's `log -m` puts `<level>` after the timestamp, which the decoder does not expect: feed it
  // the parsed lines instead.
  const reports = decodeText(
    log.map((l) => (l.timestamp === null ? l.text : `[${l.timestamp.toFixed(6)}] ${l.text}`)).join('\n'),
  );
  // The last report that can take a kernel down is the one the dump was written for.
  const r: DecodedReport | undefined =
    reports.filter((x) => !minorKinds.has(x.kind)).at(-1) ?? reports.at(-1);
  const crash = parseTaintedMask(sysT);
  let taint: CrashTaint | null = null;
  if (r?.tainted)
    taint = { flags: r.tainted, decoded: r.taintFlags, mask: crash?.mask ?? null, source: 'log' };
  else if (r?.excerpt.some((l) => /\bNot tainted\b/.test(l)))
    taint = { flags: '', decoded: [], mask: crash?.mask ?? null, source: 'log' };
  else if (crash)
    taint = { flags: crash.flags, decoded: decodeTaint(crash.flags), mask: crash.mask, source: 'crash' };
  if (!r) return { headline: null, oops: null, faultAddress: null, rip: null, taint };
  const panicLine = r.panicMessage !== null ? `Kernel panic - not syncing: ${r.panicMessage}` : null;
  // `sysrq: Trigger a crash` only announces the panic; an Oops line is shown beside the headline.
  const announces = /^sysrq: /.test(r.title) || r.title === r.oops;
  const site = r.function
    ? `${r.function}${r.offset ? `+${r.offset}` : ''}${r.length ? `/${r.length}` : ''}${r.module ? ` [${r.module}]` : ''}`
    : r.address;
  return {
    headline: announces ? (panicLine ?? r.title) : r.title,
    oops: r.oops,
    faultAddress: r.faultingAddress,
    rip: site,
    taint,
  };
}

/**
 * The report's summary: crash's `sys`, the task from `bt`'s header where `sys` stops early (crash
 * 8.0.2 on these kernels stops after PANIC), and the panic log's facts; the faulting RIP falls back
 * to crash's exception frame when the log does not print one.
 */
export function summarize(
  sys: string,
  backtrace: CrashBacktrace,
  log: CrashLogLine[],
  sysT = '',
): CrashSummary {
  const summary = { ...parseSys(sys), ...panicFacts(log, sysT) };
  summary.pid ??= backtrace.pid;
  summary.command ??= backtrace.command;
  summary.task ??= backtrace.task;
  summary.cpu ??= backtrace.cpu;
  summary.rip ??= backtrace.frames.find((f) => f.exception)?.exception?.rip ?? null;
  return summary;
}
