// One pass over normalized kernel lines: finds where each report starts (a headline such as
// `BUG: …`, `WARNING: …`, `Kernel panic - not syncing: …`), collects its fields, and decides when a
// panic is the consequence of the report before it (`Fatal exception`, init killed by an oops in
// PID 1) rather than a report of its own. Fields are first-wins: the kernel prints the faulting
// context first, and later repeats (a second register dump, other CPUs' NMI backtraces) must not
// overwrite it. Lines outside reports only pay for a first-character switch and two indexOf calls.
import { explain } from './knowledge';
import { decodePageFaultError, decodeTaint, decodeWaitStatus, errnoName, hex } from './tables';
import type { Arch, CodeBytes, DecodedReport, Frame, InitFailure, ReportKind, UserSegfault } from './types';

const SYM = String.raw`([A-Za-z_.$][\w.$]*)\+(0x[0-9a-f]+)\/(0x[0-9a-f]+)(?:\s+\[([\w-]+)(?:\s+[0-9a-f]+)?\])?`;
const symRe = new RegExp(`^${SYM}`);
const symAnywhereRe = new RegExp(SYM);
const frameRe = new RegExp(String.raw`^\s*(?:\[<([0-9a-f]*)>\]\s*)?(\?\s+)?(?:\[<[0-9a-f]*>\]\s*)?${SYM}`);
const armFrameRe =
  /^\s*\[<([0-9a-f]+)>\]\s+\(([A-Za-z_.$][\w.$]*)(?:\+(0x[0-9a-f]+)\/(0x[0-9a-f]+))?(?:\s+\[([\w-]+)\])?\)\s+from\s+\[<[0-9a-f]+>\]\s+\(([A-Za-z_.$][\w.$]*)(?:\+(0x[0-9a-f]+)\/(0x[0-9a-f]+))?(?:\s+\[([\w-]+)\])?\)/;
const traceMarkerRe = /^\s*<\/?(?:IRQ|TASK|NMI|EOI|SOFTIRQ)>\s*$/;
const traceHeaderRe = /^\s*(?:Call [Tt]race|Backtrace)(?: \([^)]*\))?:\s*$/;
const cpuLineRe =
  /^CPU: (\d+) (?:UID: \d+ )?PID: (\d+) Comm: (.*?)(?: Kdump: loaded)?(?: Not tainted | Tainted: ([A-Z][A-Z ]*?) +(?:-+ +)?)(\d\S*)/;
const pidLineRe =
  /^Pid: (\d+), comm: (\S+)(?:\s+(?:Not tainted|Tainted: ([A-Z][A-Z ]*?))\s+(?:-+ +)?(\d\S*))?/;
const taintOnlyRe = /^\s+(?:Not tainted|Tainted: ([A-Z][A-Z ]*?))\s+(?:-+ +)?(\d\S*)/;
const x86RegLineRe = /^(?:R[A-Z0-9]{1,3}|E[A-Z]{1,5}|[CDEFGS]S|CR\d|DR\d|ORIG_[RE]AX|PKRU|knlGS):/;
const x86RegPairRe = /\b([A-Za-z][A-Za-z0-9_]{0,7}):\s*(?:[0-9a-f]{4}:)?([0-9a-f]{4,16})\b/g;
const arm64RegLineRe = /^(?:x\d{1,2}\s*:|pc : |lr : |sp : |pstate: )/;
const arm64RegPairRe = /\b(x\d{1,2}|sp|pc|lr|pstate)\s*:\s*([0-9a-f]{8,16})\b/g;
const armRegLineRe = /^(?:r\d{1,2}\s*:|pc : \[<|sp : [0-9a-f]{8}|psr: )/;
const armRegPairRe = /\b(r\d{1,2}|sp|ip|fp|pc|lr|psr)\s*:\s*(?:\[<)?([0-9a-f]{8})\b/g;
const riscvRegLineRe = /^\s*(?:epc|ra|sp|gp|t[0-6]|s\d{1,2}|a[0-7]|status|badaddr|cause)\s*:\s*[0-9a-f]/;
const riscvRegPairRe =
  /\b(epc|ra|sp|gp|tp|t[0-6]|s\d{1,2}|a[0-7]|status|badaddr|cause)\s*:\s*([0-9a-f]{8,16})\b/g;
const segfaultRe =
  /^(.+?)\[(\d+)\]: segfault at ([0-9a-f]+) ip ([0-9a-f]+) sp ([0-9a-f]+) error ([0-9a-f]+)(?: in (.+?)\[(?:([0-9a-f]+),)?([0-9a-f]+)\+([0-9a-f]+)\])?(?: likely on CPU (\d+))?/;
const trapsRe =
  /^traps: (.+?)\[(\d+)\] (.+?) ip:([0-9a-f]+) sp:([0-9a-f]+) error:([0-9a-f]+)(?: in (.+?)\[(?:([0-9a-f]+),)?([0-9a-f]+)\+([0-9a-f]+)\])?/;
const initFailRe =
  /(?:Failed to execute (\S+) \(error (-\d+)\)|Requested init (\S+) failed \(error (-\d+)\)|Starting init: (\S+) exists but couldn't execute it \(error (-\d+)\))/;
// `crash` output pasted instead of a console log: `sys` (KERNEL: … PANIC: "…") and `bt` (PID: … #0 […]).
const crashStartRe = /^\s*(?:KERNEL: |(?:crash> bt\s+)?PID: \d+\s+TASK: [0-9a-f]+\s+CPU: )/;
const maxExcerpt = 400;
/** A report that has shown nothing of its own for this many lines is over. */
const quietLimit = 300;

const oopsKinds = new Set<ReportKind>(['null-deref', 'paging-fault', 'gpf', 'bug', 'kasan', 'other']);
const noSiteKinds = new Set<ReportKind>([
  'hung-task',
  'oom',
  'init-exit',
  'vfs-no-root',
  'user-segfault',
  'fatal-exception',
]);

interface Headline {
  kind: ReportKind;
  faultingAddress?: string | null;
  site?: RegExpExecArray | null;
  comm?: string;
  pid?: number;
  cpu?: number;
  panicMessage?: string;
  /** `Oops:`-style lines that belong to a report already open, if there is one. */
  joinsOops?: boolean;
  sysrq?: boolean;
}

class Draft {
  r: DecodedReport;
  inTrace = false;
  traceDone = false;
  siteSeen = false;
  ripUser = false;
  ignoreContext = false;
  ended = false;
  closed = false;
  lastUseful: number;
  initExitNote = false;
  sysrqHeadline = false;
  sysrqOops = false;
  oopsSeen = false;
  armPending: { offset: string | null; length: string | null; module: string | null; name: string } | null =
    null;
  taintedModules: string[] = [];
  archVotes: Arch | null = null;

  constructor(kind: ReportKind, title: string, line: number) {
    this.lastUseful = line;
    this.r = {
      kind,
      title,
      panic: false,
      panicMessage: null,
      arch: null,
      kernelRelease: null,
      comm: null,
      pid: null,
      cpu: null,
      tainted: null,
      taintFlags: [],
      faultingAddress: null,
      function: null,
      offset: null,
      length: null,
      module: null,
      address: null,
      callTrace: [],
      registers: {},
      code: null,
      exitCode: null,
      exitStatus: null,
      userSegfault: null,
      initFailure: null,
      oom: null,
      oops: null,
      explanation: { summary: { en: '', 'zh-CN': '' }, likelyCauses: [], nextSteps: [] },
      lines: { first: line, last: line },
      excerpt: [],
      notes: [],
    };
  }
}

function addressOf(text: string): string | null {
  const t = text.trim();
  if (t === '(null)') return '0x0';
  const m = /^(?:0x)?([0-9a-f]+)/.exec(t);
  return m ? hex(m[1]) : null;
}

function setSite(d: Draft, m: RegExpExecArray | null, address: string | null): void {
  if (d.r.function !== null || d.r.address !== null) return;
  if (m) {
    d.r.function = m[1] ?? null;
    d.r.offset = m[2] ?? null;
    d.r.length = m[3] ?? null;
    d.r.module = m[4] ?? null;
  }
  if (address) d.r.address = address;
}

function collapse(flags: string | undefined): string | null {
  if (flags === undefined) return null;
  const t = flags.trim().replace(/\s+/g, ' ');
  return t === '' ? null : t;
}

function archFromRelease(release: string): Arch | null {
  if (/x86_64|amd64/.test(release)) return 'x86_64';
  if (/aarch64|arm64/.test(release)) return 'arm64';
  if (/armv\d|\.arm\b|armhf|armel/.test(release)) return 'arm';
  if (/i[3-6]86/.test(release)) return 'i386';
  if (/riscv64/.test(release)) return 'riscv64';
  return null;
}

/** Weak evidence: x86_64's direct map, vmalloc, vmemmap, kernel text and module areas. */
function archFromAddress(address: string | null): Arch | null {
  if (!address || address.length !== 18) return null;
  return /^0xffff(?:88|c9|ea|ffff8|ffffa|ffffc)/.test(address) ? 'x86_64' : null;
}

function parseCode(text: string, context: 'kernel' | 'user'): CodeBytes {
  const body = text.trim();
  if (!/^[0-9a-f<(]/.test(body)) return { text: body, bytes: [], trapIndex: null, context, note: body };
  const bytes: string[] = [];
  let trapIndex: number | null = null;
  let note: string | null = null;
  const tokens = body.split(/\s+/);
  for (let i = 0; i < tokens.length; i++) {
    const tok = tokens[i]!;
    let m = /^<([0-9a-f]+)>$/.exec(tok) ?? /^\(([0-9a-f]+)\)$/.exec(tok);
    if (m) {
      trapIndex = bytes.length;
      bytes.push(m[1]!);
      continue;
    }
    m = /^([0-9a-f]+)$/.exec(tok);
    if (m) {
      bytes.push(m[1]!);
      continue;
    }
    // journalctl cuts long lines with `>`
    if (i === tokens.length - 1 && tok.endsWith('>')) {
      note = 'the Code: line was cut short by the log viewer';
      continue;
    }
    note = `unreadable token "${tok}" in the Code: line`;
    break;
  }
  if (trapIndex === null && note === null) note = 'the trapping byte is not marked (the line was cut)';
  return { text: body, bytes, trapIndex, context, note };
}

function classifyPanic(message: string): ReportKind {
  if (message.startsWith('sysrq triggered crash')) return 'sysrq';
  if (message.startsWith('Attempted to kill init!')) return 'init-exit';
  if (message.startsWith('VFS: Unable to mount root')) return 'vfs-no-root';
  if (/^(?:Oops: )?Fatal exception/.test(message)) return 'fatal-exception';
  if (/Out of memory|deadlocked on memory/i.test(message)) return 'oom';
  if (/softlockup|soft lockup/i.test(message)) return 'soft-lockup';
  if (message.startsWith('hung_task')) return 'hung-task';
  if (/RCU Stall/i.test(message)) return 'rcu-stall';
  if (/panic_on_warn/.test(message)) return 'warning';
  if (/stack-protector|Kernel stack is corrupted/.test(message)) return 'bug';
  return 'other';
}

function initFailureFrom(text: string): InitFailure | null {
  const m = initFailRe.exec(text);
  if (!m) return null;
  const path = m[1] ?? m[3] ?? m[5] ?? null;
  const errno = Number(m[2] ?? m[4] ?? m[6]);
  const e = errnoName(errno);
  return { path, errno, errnoName: e.name, meaning: e.meaning };
}

/** Recognizes the first line of a report. Cheap for the lines that are not one. */
export function detectHeadline(t: string): Headline | null {
  const c = t.charCodeAt(0);
  let m: RegExpExecArray | null;
  switch (c) {
    case 66: // B
      if (!t.startsWith('BUG: ')) break;
      return bugHeadline(t.slice(5));
    case 107: // k
      if (t.startsWith('kernel BUG at ')) return { kind: 'bug' };
      break;
    case 85: // U
      if (t.startsWith('Unable to handle kernel ')) {
        m = /at virtual address ([0-9a-f]+)/.exec(t);
        return {
          kind: t.startsWith('Unable to handle kernel NULL pointer') ? 'null-deref' : 'paging-fault',
          faultingAddress: m ? hex(m[1]) : null,
        };
      }
      break;
    case 103: // g
      if (t.startsWith('general protection fault')) return gpfHeadline(t);
      break;
    case 115: // s
      if (t.startsWith('stack segment: ')) return { kind: 'gpf', joinsOops: true };
      if (t.startsWith('sysrq: ') && t.includes('Trigger a crash')) return { kind: 'sysrq', sysrq: true };
      break;
    case 83: // S
      if (t.startsWith('SysRq : Trigger a crash')) return { kind: 'sysrq', sysrq: true };
      break;
    case 87: // W
      if (t.startsWith('WARNING: ')) return warningHeadline(t);
      if (t.startsWith('Watchdog detected hard LOCKUP')) return { kind: 'other' };
      break;
    case 75: // K
      if (t.startsWith('Kernel panic - not syncing: ')) {
        return { kind: 'other', panicMessage: t.slice(28).trimEnd() };
      }
      break;
    case 73: // I
      if (t.startsWith('INFO: task ')) {
        m = /^INFO: task (.+):(\d+) blocked for more than/.exec(t);
        if (m) return { kind: 'hung-task', comm: m[1]!, pid: Number(m[2]) };
      } else if (t.startsWith('INFO: rcu') && t.includes('stall')) return { kind: 'rcu-stall' };
      else if (t.startsWith('Internal error: '))
        return { kind: /BUG/.test(t) ? 'bug' : 'other', joinsOops: true };
      break;
    case 114: // r
      if (t.startsWith('rcu: INFO: rcu') && t.includes('stall')) return { kind: 'rcu-stall' };
      break;
    case 78: // N
      if (t.startsWith('NMI watchdog: ')) return detectHeadline(t.slice(14));
      break;
    case 119: // w
      if (t.startsWith('watchdog: ')) return detectHeadline(t.slice(10));
      break;
    case 86: // V
      if (t.startsWith('VFS: Cannot open root device')) return { kind: 'vfs-no-root' };
      break;
    case 70: // F
      if (t.startsWith('Failed to execute ')) return { kind: 'other' };
      break;
    case 79: // O
      if (t.startsWith('Oops: ')) {
        if (t.startsWith('Oops: general protection fault'))
          return { ...gpfHeadline(t.slice(6)), joinsOops: true };
        return { kind: /invalid opcode/.test(t) ? 'bug' : 'other', joinsOops: true };
      }
      if (t.startsWith('Out of memory: Kill')) return { kind: 'oom' };
      break;
    case 105: // i
      if (t.startsWith('invalid opcode: ')) return { kind: 'bug', joinsOops: true };
      break;
    case 77: // M
      if (t.startsWith('Memory cgroup out of memory: Kill')) return { kind: 'oom' };
      break;
    case 116: // t
      if (t.startsWith('traps: ') && trapsRe.test(t)) return { kind: 'user-segfault' };
      break;
  }
  if (t.indexOf(' invoked oom-killer: ') !== -1) return { kind: 'oom' };
  if (t.indexOf(': segfault at ') !== -1 && segfaultRe.test(t)) return { kind: 'user-segfault' };
  return null;
}

function bugHeadline(rest: string): Headline {
  let m: RegExpExecArray | null;
  if ((m = /^unable to handle kernel NULL pointer dereference at\s+(.+?)\s*$/.exec(rest)))
    return { kind: 'null-deref', faultingAddress: addressOf(m[1]!) };
  if ((m = /^kernel NULL pointer dereference, address: ([0-9a-f]+)/.exec(rest)))
    return { kind: 'null-deref', faultingAddress: hex(m[1]) };
  if (
    (m = /^unable to handle (?:kernel )?(?:paging request at|page fault for address:)\s+([0-9a-f]+)/.exec(
      rest,
    ))
  )
    return { kind: 'paging-fault', faultingAddress: hex(m[1]) };
  if ((m = new RegExp(`^KASAN: \\S+ in ${SYM}(?: at addr ([0-9a-f]+))?`).exec(rest)))
    return { kind: 'kasan', site: m, faultingAddress: m[5] ? hex(m[5]) : null };
  if (rest.startsWith('KASAN: ')) return { kind: 'kasan' };
  if ((m = /^soft lockup - CPU#(\d+) stuck for \d+s! \[(.+):(\d+)\]/.exec(rest)))
    return { kind: 'soft-lockup', cpu: Number(m[1]), comm: m[2]!, pid: Number(m[3]) };
  return { kind: 'bug' };
}

function gpfHeadline(t: string): Headline {
  const m = /(?:non-canonical address|maybe for address) (0x[0-9a-f]+)/.exec(t);
  return { kind: 'gpf', faultingAddress: m ? hex(m[1]) : null };
}

function warningHeadline(t: string): Headline {
  const h: Headline = { kind: 'warning' };
  const cpu = /CPU: (\d+) PID: (\d+)/.exec(t);
  if (cpu) {
    h.cpu = Number(cpu[1]);
    h.pid = Number(cpu[2]);
  }
  const at = t.indexOf(' at ');
  h.site = symAnywhereRe.exec(at === -1 ? t : t.slice(at));
  return h;
}

export class ReportParser {
  readonly reports: DecodedReport[] = [];
  #cur: Draft | null = null;
  #lineNo = 0;
  /** Arch evidence seen anywhere, for reports that show none of their own. */
  #fileArch: Arch | null = null;
  #crash: { kind: 'sys' | 'bt'; lines: string[]; first: number } | null = null;

  /** Feeds one normalized line. */
  line(text: string, kernel: boolean): void {
    const n = ++this.#lineNo;
    if (!kernel) return;
    const c = text.charCodeAt(0);
    if (this.#crash) {
      if (text.trim() === '' || text.startsWith('crash>') || this.#crash.lines.length > 2000)
        this.#crashEnd();
      else {
        this.#crash.lines.push(text);
        return;
      }
    }
    if ((c === 32 || c === 75 || c === 99 || c === 80) && crashStartRe.test(text)) {
      this.#close();
      this.#crash = { kind: /KERNEL: /.test(text.slice(0, 20)) ? 'sys' : 'bt', lines: [text], first: n };
      return;
    }
    const d0 = this.#cur;
    if (d0 && n - d0.lastUseful > quietLimit) this.#close();
    // Boundaries: a new kernel booting (the capture kernel after kdump), the end of a panic.
    if (c === 76 /* L */ && text.startsWith('Linux version ')) {
      this.#close();
      const a = archFromRelease(text.slice(14, 80));
      if (a) this.#fileArch = a;
      return;
    }
    if (c === 45 /* - */ && text.startsWith('---[ end ')) {
      const d = this.#cur;
      if (d) {
        d.r.lines.last = n;
        this.#excerpt(d, text);
        if (text.startsWith('---[ end Kernel panic')) this.#close();
        else d.ended = true;
      }
      return;
    }
    const h = detectHeadline(text);
    if (h) {
      this.#headline(h, text, n);
      return;
    }
    const d = this.#cur;
    if (!d) return;
    if (this.#field(d, text, n)) {
      d.lastUseful = n;
      d.r.lines.last = n;
    }
    if (n - d.r.lines.first < maxExcerpt * 2) this.#excerpt(d, text);
  }

  finish(): DecodedReport[] {
    this.#crashEnd();
    this.#close();
    for (const r of this.reports) {
      if (r.arch === null) r.arch = this.#fileArch;
    }
    return this.reports;
  }

  #crashEnd(): void {
    const cr = this.#crash;
    if (!cr) return;
    this.#crash = null;
    const text = cr.lines.join('\n');
    const last = cr.first + cr.lines.length - 1;
    if (cr.kind === 'sys') {
      const panic = /PANIC: "(.*?)"/.exec(text)?.[1] ?? '';
      const notSyncing = /^Kernel panic - not syncing: (.*)$/.exec(panic);
      const h = notSyncing ? null : detectHeadline(panic);
      const kind = notSyncing ? classifyPanic(notSyncing[1]!) : (h?.kind ?? 'other');
      const d = this.#open(kind, `crash sys: PANIC: "${panic}"`, cr.first);
      const r = d.r;
      r.excerpt = cr.lines.slice(0, maxExcerpt);
      r.lines.last = last;
      if (notSyncing) {
        r.panic = true;
        r.panicMessage = notSyncing[1]!;
        this.#panicFields(d, r.panicMessage);
      }
      if (h?.faultingAddress) r.faultingAddress = h.faultingAddress;
      if (h?.site) setSite(d, h.site, null);
      r.kernelRelease = /RELEASE: (\S+)/.exec(text)?.[1] ?? null;
      const pid = /\bPID: (\d+)/.exec(text);
      if (pid) r.pid = Number(pid[1]);
      r.comm = /COMMAND: "(.*?)"/.exec(text)?.[1] ?? null;
      const cpu = /\bCPU: (\d+)/.exec(text.slice(text.indexOf('PANIC:')));
      if (cpu) r.cpu = Number(cpu[1]);
      const machine = /MACHINE: (\S+)/.exec(text)?.[1];
      if (machine) d.archVotes = archFromRelease(machine) ?? (machine === 'aarch64' ? 'arm64' : null);
      this.#close();
      return;
    }
    const head = /PID: (\d+)\s+TASK: [0-9a-f]+\s+CPU: (\d+)\s+COMMAND: "(.*?)"/.exec(text);
    const frames: Frame[] = [];
    for (const m of text.matchAll(/#(\d+)\s+\[([0-9a-f]+)\]\s+(\S+) at ([0-9a-f]+)(?: \[([\w-]+)\])?/g)) {
      frames.push({
        function: m[3]!,
        offset: null,
        length: null,
        module: m[5] ?? null,
        reliable: true,
        address: hex(m[4]),
      });
    }
    const names = new Set(frames.map((f) => f.function));
    const has = (...fns: string[]) => fns.some((f) => names.has(f));
    const kind: ReportKind = has('sysrq_handle_crash')
      ? 'sysrq'
      : has('no_context', 'page_fault_oops', '__bad_area_nosemaphore', 'bad_area_nosemaphore')
        ? 'paging-fault'
        : has('do_general_protection', 'exc_general_protection')
          ? 'gpf'
          : has('do_invalid_op', 'exc_invalid_op')
            ? 'bug'
            : has('__warn', 'warn_slowpath_common', 'warn_slowpath_fmt')
              ? 'warning'
              : 'other';
    const d = this.#open(kind, 'crash bt', cr.first);
    const r = d.r;
    r.excerpt = cr.lines.slice(0, maxExcerpt);
    r.lines.last = last;
    r.callTrace = frames;
    if (head) {
      r.pid = Number(head[1]);
      r.cpu = Number(head[2]);
      r.comm = head[3]!;
    }
    for (const f of frames) this.#archFromFrame(d, f.function!);
    if (!d.archVotes && /\bRIP: /.test(text)) d.archVotes = 'x86_64';
    this.#close();
  }

  #excerpt(d: Draft, text: string): void {
    if (d.r.excerpt.length < maxExcerpt) d.r.excerpt.push(text);
  }

  #close(): void {
    const d = this.#cur;
    if (!d) return;
    this.#cur = null;
    const r = d.r;
    r.taintFlags = decodeTaint(r.tainted);
    if (r.arch === null) r.arch = d.archVotes;
    if (r.arch === null && r.kernelRelease) r.arch = archFromRelease(r.kernelRelease);
    if (r.arch === null)
      r.arch = archFromAddress(r.faultingAddress) ?? archFromAddress(r.callTrace[0]?.address ?? null);
    if (r.arch === null && r.userSegfault) r.arch = r.userSegfault.ip.length > 10 ? 'x86_64' : 'i386'; // only x86 prints this line
    if (r.arch) this.#fileArch ??= r.arch;
    // trim the excerpt to the report's last useful line
    const keep = r.lines.last - r.lines.first + 1;
    if (r.excerpt.length > keep) r.excerpt.length = keep;
    r.explanation = explain(r, { taintedModules: d.taintedModules, initExitNote: d.initExitNote });
    this.reports.push(r);
  }

  #open(kind: ReportKind, title: string, n: number): Draft {
    this.#close();
    const d = new Draft(kind, title, n);
    this.#cur = d;
    this.#excerpt(d, title);
    return d;
  }

  #headline(h: Headline, text: string, n: number): void {
    let d = this.#cur;
    if (h.panicMessage !== undefined) {
      this.#panic(h.panicMessage, text, n);
      return;
    }
    // `Oops: 0000 [#1]`, `invalid opcode:`, arm's `Internal error:` complete the report before them.
    if (h.joinsOops && d && !d.oopsSeen && (oopsKinds.has(d.r.kind) || d.r.kind === 'sysrq') && !d.ended) {
      d.oopsSeen = true;
      d.r.oops = text.replace(/^Internal error: /, '');
      if (d.r.faultingAddress === null && h.faultingAddress) d.r.faultingAddress = h.faultingAddress;
      if (/ SMP ARM\b| ARM$/.test(text)) d.archVotes = 'arm';
      d.lastUseful = n;
      d.r.lines.last = n;
      this.#excerpt(d, text);
      return;
    }
    // An oops right after `sysrq: Trigger a crash` is the crash that sysrq asked for (older kernels).
    if (d && d.sysrqHeadline && !d.sysrqOops && !h.joinsOops && oopsKinds.has(h.kind) && !d.r.panic) {
      if (h.faultingAddress) d.r.faultingAddress = h.faultingAddress;
      d.sysrqOops = true;
      d.lastUseful = n;
      this.#excerpt(d, text);
      return;
    }
    // A second `Killed process` line belongs to the OOM report already open.
    if (d && d.r.kind === 'oom' && h.kind === 'oom' && !text.includes('invoked oom-killer')) {
      this.#field(d, text, n);
      d.lastUseful = n;
      d.r.lines.last = n;
      this.#excerpt(d, text);
      return;
    }
    d = this.#open(h.kind, text, n);
    const r = d.r;
    if (h.joinsOops) {
      d.oopsSeen = true;
      r.oops = text.replace(/^Internal error: /, '');
    }
    if (h.sysrq) d.sysrqHeadline = true;
    if (h.faultingAddress !== undefined) r.faultingAddress = h.faultingAddress;
    if (h.comm !== undefined) r.comm = h.comm;
    if (h.pid !== undefined) r.pid = h.pid;
    if (h.cpu !== undefined) r.cpu = h.cpu;
    if (h.site) setSite(d, h.site, null);
    if (h.kind === 'user-segfault') this.#segfault(d, text);
    if (h.kind === 'oom') {
      r.oom = { invokedBy: null, constraint: null, victims: [] };
      const inv = /^(.+?) invoked oom-killer/.exec(text);
      if (inv) r.oom.invokedBy = inv[1]!;
      else this.#field(d, text, n);
    }
    if (text.startsWith('Failed to execute ')) r.initFailure = initFailureFrom(text);
  }

  #panic(message: string, text: string, n: number): void {
    const d = this.#cur;
    if (d && !d.r.panic && this.#panicBelongs(d, message)) {
      d.r.panic = true;
      d.r.panicMessage = message;
      d.ended = false;
      d.lastUseful = n;
      d.r.lines.last = n;
      this.#excerpt(d, text);
      this.#panicFields(d, message);
      return;
    }
    const nd = this.#open(classifyPanic(message), text, n);
    nd.r.panic = true;
    nd.r.panicMessage = message;
    this.#panicFields(nd, message);
  }

  #panicBelongs(d: Draft, message: string): boolean {
    const k = d.r.kind;
    if (/^(?:Oops: )?Fatal exception/.test(message) || message.startsWith('Oops'))
      return oopsKinds.has(k) || k === 'warning' || k === 'soft-lockup' || k === 'rcu-stall' || k === 'sysrq';
    if (message.startsWith('Attempted to kill init!')) {
      return (
        d.r.pid === 1 ||
        d.initExitNote ||
        (d.r.oom?.victims.some((v) => v.pid === 1) ?? false) ||
        (d.r.kind === 'user-segfault' && d.r.pid === 1)
      );
    }
    if (message.startsWith('sysrq triggered crash')) return k === 'sysrq';
    if (message.startsWith('VFS:')) return k === 'vfs-no-root';
    if (/^No working init found|^Requested init/.test(message))
      return k === 'other' && d.r.initFailure !== null;
    const kind = classifyPanic(message);
    return kind !== 'other' && kind === k;
  }

  #panicFields(d: Draft, message: string): void {
    const m = /^Attempted to kill init! exitcode=(0x[0-9a-f]+)/.exec(message);
    if (m) {
      d.r.exitCode = m[1]!;
      d.r.exitStatus = decodeWaitStatus(parseInt(m[1]!, 16));
    }
    d.r.initFailure ??= initFailureFrom(message);
  }

  #segfault(d: Draft, text: string): void {
    const r = d.r;
    let m = segfaultRe.exec(text);
    let sf: UserSegfault;
    if (m) {
      const ip = m[4]!;
      const base = m[9];
      sf = {
        address: hex(m[3]),
        ip: hex(ip)!,
        sp: hex(m[5]),
        error: m[6]!,
        errorDecoded: decodePageFaultError(m[6]!),
        object: m[7] ?? null,
        base: hex(base),
        size: hex(m[10]),
        offsetInObject: base ? `0x${(BigInt(`0x${ip}`) - BigInt(`0x${base}`)).toString(16)}` : null,
        fileOffset: hex(m[8]),
      };
      r.faultingAddress = sf.address;
      if (m[11]) r.cpu = Number(m[11]);
    } else {
      m = trapsRe.exec(text);
      if (!m) return;
      const base = m[9];
      sf = {
        address: null,
        ip: hex(m[4])!,
        sp: hex(m[5]),
        error: m[6]!,
        errorDecoded: m[3]!,
        object: m[7] ?? null,
        base: hex(base),
        size: hex(m[10]),
        offsetInObject: base ? `0x${(BigInt(`0x${m[4]!}`) - BigInt(`0x${base}`)).toString(16)}` : null,
        fileOffset: hex(m[8]),
      };
    }
    r.comm = m[1]!;
    r.pid = Number(m[2]);
    r.userSegfault = sf;
  }

  /** Collects one line's fields into the open report; true when the line meant something. */
  #field(d: Draft, t: string, n: number): boolean {
    const r = d.r;
    const c = t.charCodeAt(0);

    if (d.inTrace) {
      if (traceMarkerRe.test(t)) {
        d.archVotes ??= 'x86_64'; // <TASK>/<IRQ> markers are printed by x86's stack dumper only
        return true;
      }
      const f = frameRe.exec(t);
      if (f) {
        this.#frame(d, f);
        return true;
      }
      d.inTrace = false;
      d.traceDone = true;
    }
    if (d.ended) {
      const note = /^note: (.+)\[(\d+)\] exited with/.exec(t);
      if (note && note[2] === '1') d.initExitNote = true;
      return note !== null;
    }
    if (c === 32 || c === 9) {
      if (traceHeaderRe.test(t)) return this.#traceHeader(d);
      const tm = taintOnlyRe.exec(t);
      if (tm) {
        r.kernelRelease ??= tm[2]!;
        if (r.tainted === null && tm[1] !== undefined) r.tainted = collapse(tm[1]);
        return true;
      }
      if (!d.traceDone && !d.ignoreContext && r.callTrace.length === 0 && riscvRegLineRe.test(t)) {
        this.#regs(d, t, riscvRegPairRe);
        d.archVotes ??= 'riscv64';
        return true;
      }
      // Stack dumps, module list continuations, `Mem abort info` details.
      return t.startsWith(' ') && /^\s+[0-9a-f]{8,16}(?:\s|$)/.test(t);
    }
    switch (c) {
      case 67: // C
        if (t.startsWith('CPU: ')) return this.#cpuLine(d, t);
        if (t.startsWith('Call Trace') || t.startsWith('Call trace')) return this.#traceHeader(d);
        if (t.startsWith('Code: ')) {
          if (r.code === null && !d.ignoreContext) {
            const context = d.ripUser || (r.kind === 'user-segfault' && !d.siteSeen) ? 'user' : 'kernel';
            r.code = parseCode(t.slice(6), context);
          }
          return true;
        }
        break;
      case 82: // R
        if (t.startsWith('RIP: ') || t.startsWith('RIP:') || t.startsWith('RIP ')) return this.#rip(d, t);
        break;
      case 73: // I
        if (t.startsWith('IP: ')) {
          const m = /^IP: \[(?:<([0-9a-f]*)>)?\]\s*(.*)$/.exec(t);
          if (m && !noSiteKinds.has(r.kind) && !d.siteSeen) {
            setSite(d, symRe.exec(m[2]!), hex(m[1]) ?? addressOf(m[2]!.replace(/^0x/, '')));
            d.siteSeen = true;
          }
          return true;
        }
        break;
      case 69: // E
        if (t.startsWith('EIP: ')) {
          d.archVotes ??= 'i386';
          const m = /^EIP: (?:([0-9a-f]{4}):)?(?:\[<([0-9a-f]+)>\]\s*)?(.*)$/.exec(t);
          if (m && !d.siteSeen && !noSiteKinds.has(r.kind)) {
            const user = m[1] === '0073' || (m[1] === undefined && r.callTrace.length > 0);
            if (user) d.ripUser = true;
            else setSite(d, symRe.exec(m[3]!), hex(m[2]));
            d.siteSeen = true;
          }
          if (m?.[1] !== undefined)
            this.#regs(d, t.replace(/^EIP: [0-9a-f]{4}:\[<([0-9a-f]+)>\]/, 'EIP: $1'), x86RegPairRe);
          return true;
        }
        if (t.startsWith('EIP is at ')) {
          if (!noSiteKinds.has(r.kind) && r.function === null) setSite(d, symRe.exec(t.slice(10)), r.address);
          return true;
        }
        break;
      case 80: // P
        if (t.startsWith('PC is at ')) {
          d.archVotes ??= 'arm';
          if (!noSiteKinds.has(r.kind) && !d.siteSeen) {
            setSite(d, symRe.exec(t.slice(9)), null);
            d.siteSeen = true;
          }
          return true;
        }
        if (t.startsWith('Pid: ')) {
          const m = pidLineRe.exec(t);
          if (m && !d.ignoreContext && r.kind !== 'hung-task') {
            if (r.kind !== 'oom') {
              r.pid ??= Number(m[1]);
              r.comm ??= m[2]!;
            }
            if (m[4]) r.kernelRelease ??= m[4];
            if (r.tainted === null && m[3] !== undefined) r.tainted = collapse(m[3]);
          }
          return m !== null;
        }
        if (t.startsWith('Process ')) return true;
        break;
      case 112: // p
        if (t.startsWith('pc : ')) {
          const rest = t.slice(5);
          if (rest.startsWith('[<')) {
            d.archVotes ??= 'arm';
            this.#regs(d, t, armRegPairRe);
          } else {
            d.archVotes ??= 'arm64';
            if (!noSiteKinds.has(r.kind) && !d.siteSeen && !d.ignoreContext) {
              setSite(d, symRe.exec(rest), null);
              d.siteSeen = true;
            }
          }
          return true;
        }
        if (t.startsWith('pstate: ')) {
          d.archVotes ??= 'arm64';
          this.#regs(d, t, arm64RegPairRe);
          return true;
        }
        if (t.startsWith('psr: ')) return true;
        break;
      case 101: // e
        if (t.startsWith('epc : ') || t.startsWith('epc: ')) {
          d.archVotes ??= 'riscv64';
          const sym = symRe.exec(t.slice(t.indexOf(':') + 2));
          if (sym && !noSiteKinds.has(r.kind) && !d.siteSeen) {
            setSite(d, sym, null);
            d.siteSeen = true;
          } else this.#regs(d, t, riscvRegPairRe);
          return true;
        }
        break;
      case 77: // M
        if (t.startsWith('Modules linked in:')) {
          for (const m of t.matchAll(/(\S+)\(([A-Z]+)\)/g)) {
            if (d.taintedModules.length < 20) d.taintedModules.push(`${m[1]!} (${m[2]!})`);
          }
          return true;
        }
        if (t.startsWith('Memory cgroup')) return this.#oomLine(d, t);
        break;
      case 79: // O
        if (t.startsWith('Out of memory')) return this.#oomLine(d, t);
        break;
      case 111: // o
        if (t.startsWith('oom-kill:')) {
          const m = /constraint=(\w+)/.exec(t);
          if (m && r.oom) r.oom.constraint ??= m[1]!;
          return true;
        }
        if (t.startsWith('oom_reaper: ')) return true;
        break;
      case 75: // K
        if (t.startsWith('Kernel Offset: ')) {
          if (t.includes('from 0xffffffff8')) d.archVotes ??= 'x86_64';
          else if (t.includes('from 0xffff8')) d.archVotes ??= 'arm64';
          return true;
        }
        if (t.startsWith('Killed process ')) return this.#oomLine(d, t);
        break;
      case 110: // n
        if (t.startsWith('note: ')) {
          const m = /^note: (.+)\[(\d+)\] exited with/.exec(t);
          if (m?.[2] === '1') d.initExitNote = true;
          return m !== null;
        }
        break;
      case 78: // N
        if (t.startsWith('NMI backtrace for cpu')) {
          // khungtaskd's NMI backtraces show other CPUs, not the blocked task.
          if (r.kind === 'hung-task') d.ignoreContext = true;
          return true;
        }
        break;
    }
    if (c === 82 || c === 69 || c === 67 || c === 68 || c === 70 || c === 71 || c === 83 || c === 107) {
      if (x86RegLineRe.test(t)) {
        if (c === 82 && t.charCodeAt(1) === 65) d.archVotes ??= 'x86_64'; // RAX
        if (c === 69 && t.startsWith('EAX:')) d.archVotes ??= 'i386';
        this.#regs(d, t, x86RegPairRe);
        return true;
      }
    }
    if (c === 120 /* x */ && arm64RegLineRe.test(t)) {
      d.archVotes ??= 'arm64';
      this.#regs(d, t, arm64RegPairRe);
      return true;
    }
    if ((c === 114 /* r */ || c === 115) /* s */ && armRegLineRe.test(t)) {
      d.archVotes ??= 'arm';
      this.#regs(d, t, armRegPairRe);
      return true;
    }
    if (c === 82 /* R */ && /^(?:Read|Write) of size/.test(t)) return this.#kasanAccess(d, t);
    if (c === 91 /* [ */ || c === 40) {
      if (!d.traceDone && (r.callTrace.length === 0 || d.armPending)) {
        const f = armFrameRe.exec(t);
        if (f) {
          this.#armFrame(d, f);
          return true;
        }
      }
      // riscv and old-style frames without a `Call Trace:` header are not taken: `irq event stamp`
      // lines look the same.
      return false;
    }
    if (t.startsWith('Hardware name:') || t.startsWith('task:') || t.startsWith('Workqueue:')) return true;
    if (t.startsWith('Failed to execute ') || t.startsWith('Run ')) {
      r.initFailure ??= initFailureFrom(t);
      return true;
    }
    if (traceHeaderRe.test(t)) return this.#traceHeader(d);
    void n;
    return false;
  }

  #traceHeader(d: Draft): boolean {
    if (!d.traceDone && !d.ignoreContext && d.r.callTrace.length === 0) d.inTrace = true;
    else d.inTrace = false;
    return true;
  }

  #frame(d: Draft, f: RegExpExecArray): void {
    if (d.ignoreContext || d.traceDone) return;
    const frame: Frame = {
      function: f[3]!,
      offset: f[4]!,
      length: f[5]!,
      module: f[6] ?? null,
      reliable: f[2] === undefined,
      address: hex(f[1]),
    };
    this.#archFromFrame(d, frame.function!);
    d.r.callTrace.push(frame);
  }

  #armFrame(d: Draft, f: RegExpExecArray): void {
    d.archVotes ??= 'arm';
    // `[<pc>] (func) from [<lr>] (caller+off/len)`: the caller's offset belongs to the next frame.
    const pend = d.armPending;
    const name = f[2]!;
    d.r.callTrace.push({
      function: name,
      offset: f[3] ?? (pend?.name === name ? pend.offset : null),
      length: f[4] ?? (pend?.name === name ? pend.length : null),
      module: f[5] ?? (pend?.name === name ? pend.module : null),
      reliable: true,
      address: hex(f[1]),
    });
    d.armPending = { name: f[6]!, offset: f[7] ?? null, length: f[8] ?? null, module: f[9] ?? null };
  }

  #archFromFrame(d: Draft, fn: string): void {
    if (d.archVotes) return;
    if (fn.startsWith('entry_SYSCALL_64') || fn.startsWith('__x64_sys') || fn === 'do_syscall_64')
      d.archVotes = 'x86_64';
    else if (fn.startsWith('el0_') || fn.startsWith('el1h_64') || fn === 'el0t_64_sync')
      d.archVotes = 'arm64';
    else if (fn === 'walk_stackframe' || fn === 'ret_from_syscall' || fn === 'handle_exception')
      d.archVotes = 'riscv64';
    else if (
      fn.startsWith('entry_SYSENTER_32') ||
      fn.startsWith('entry_INT80_32') ||
      fn === 'do_int80_syscall_32'
    )
      d.archVotes = 'i386';
  }

  #regs(d: Draft, t: string, re: RegExp): void {
    if (d.ignoreContext) return;
    const regs = d.r.registers;
    re.lastIndex = 0;
    for (const m of t.matchAll(re)) {
      const name = m[1]!;
      if (name === 'RIP' || name === 'EIP') {
        if (!/^\s*[0-9a-f]{4}:0x/.test(t.slice(m.index + name.length + 1)) && regs[name] !== undefined)
          continue;
      }
      if (regs[name] === undefined) regs[name] = `0x${m[2]!}`;
    }
  }

  #rip(d: Draft, t: string): boolean {
    const r = d.r;
    d.archVotes ??= 'x86_64';
    // `RIP: 0010:func+0x1/0x2 [mod]`, old `RIP: 0010:[<addr>]  [<addr>] func+…`, footer `RIP  [<addr>] func+…`
    const m = /^RIP:?\s*(?:([0-9a-f]{4}):)?\s*(.*)$/.exec(t);
    if (!m) return false;
    const seg = m[1];
    let rest = m[2]!;
    let address: string | null = null;
    for (;;) {
      const b = /^\[(?:<([0-9a-f]*)>)?\]\s*/.exec(rest);
      if (!b) break;
      address ??= hex(b[1]);
      rest = rest.slice(b[0].length);
    }
    const user = seg !== undefined && seg !== '0010' && seg !== '0000' && seg !== '0060';
    if (user) {
      if (!d.siteSeen) d.ripUser = true;
      d.siteSeen = true;
      const a = /^0x([0-9a-f]+)/.exec(rest);
      if (a && r.registers.RIP === undefined && !d.ignoreContext) r.registers.RIP = `0x${a[1]!}`;
      return true;
    }
    if (d.ignoreContext || d.siteSeen || noSiteKinds.has(r.kind)) {
      d.siteSeen = true;
      return true;
    }
    d.siteSeen = true;
    d.ripUser = false;
    const sym = symRe.exec(rest);
    if (!sym) {
      const a = /^(?:0x)?([0-9a-f]+)\b/.exec(rest);
      if (a) address ??= hex(a[1]);
    }
    setSite(d, sym, address);
    if (address && r.registers.RIP === undefined) r.registers.RIP = address;
    return true;
  }

  #cpuLine(d: Draft, t: string): boolean {
    const r = d.r;
    if (d.ignoreContext || r.kind === 'hung-task') return true;
    const m = cpuLineRe.exec(t);
    if (!m) {
      const loose = /^CPU: (\d+) (?:UID: \d+ )?PID: (\d+) Comm: (\S+)/.exec(t);
      if (!loose) return false;
      if (r.kind !== 'oom') {
        r.cpu ??= Number(loose[1]);
        r.pid ??= Number(loose[2]);
        r.comm ??= loose[3]!;
      }
      return true;
    }
    if (r.kind === 'oom') {
      if (r.oom) r.oom.invokedBy ??= m[3]!;
    } else if (r.comm === null || r.pid === null || r.pid === Number(m[2])) {
      // a CPU line of another task (a later panic) must not mix with this report's task
      r.cpu ??= Number(m[1]);
      r.pid ??= Number(m[2]);
      r.comm ??= m[3]!;
    }
    r.kernelRelease ??= m[5]!;
    if (r.tainted === null && m[4] !== undefined) r.tainted = collapse(m[4]);
    const a = archFromRelease(m[5]!);
    if (a) d.archVotes ??= a;
    return true;
  }

  #oomLine(d: Draft, t: string): boolean {
    const r = d.r;
    const m = /Kill(?:ed)? process (\d+) \((.*?)\)/.exec(t);
    if (!m) return t.startsWith('Out of memory') || t.startsWith('Memory cgroup');
    r.oom ??= { invokedBy: null, constraint: null, victims: [] };
    const pid = Number(m[1]);
    if (!r.oom.victims.some((v) => v.pid === pid) && r.oom.victims.length < 1000)
      r.oom.victims.push({ pid, comm: m[2]! });
    if (r.kind === 'oom' && r.pid === null) {
      r.pid = pid;
      r.comm = m[2]!;
    }
    return true;
  }

  #kasanAccess(d: Draft, t: string): boolean {
    const r = d.r;
    const m = /^(?:Read|Write) of size \d+(?: at addr ([0-9a-f]+))? by task (.+)\/(\d+)/.exec(t);
    if (!m) return false;
    if (m[1] && r.faultingAddress === null) r.faultingAddress = hex(m[1]);
    r.comm ??= m[2]!;
    r.pid ??= Number(m[3]);
    return true;
  }
}
