// The facts a recipe run can have, by the step kinds that make them: recipes are checked against this
// table when they load (a typo'd fact is a FILE:LINE:COL error, not a check that can never pass), and
// a check on a fact the run lacks says which facts the run has. Also: the crash report as facts
// (`report.*`), and function answers compared the way kernel engineers write them.
import type { CrashFrame, CrashReport, CrashSummary, CrashTask } from '../analyze/crash/types';
import type { DecodedReport, Frame } from '../analyze/decoder/types';
import type { LocatedUserFault } from '../analyze/user-fault';
import type { VmcoreEntry, VmcoreMeta } from '../kdump/vmcore-library';

/** `'.'`: a value with nothing below it; `'*'`: anything below (free-form); `[spec]`: an array of spec. */
export type FactSpec = '.' | '*' | readonly [FactSpec] | { readonly [key: string]: FactSpec };

const decodedFrame = {
  function: '.',
  offset: '.',
  length: '.',
  module: '.',
  reliable: '.',
  address: '.',
  source: '*',
} as const satisfies Record<keyof Frame, FactSpec>;

const decoded = {
  kind: '.',
  title: '.',
  panic: '.',
  panicMessage: '.',
  arch: '.',
  kernelRelease: '.',
  comm: '.',
  pid: '.',
  cpu: '.',
  tainted: '.',
  taintFlags: '*',
  faultingAddress: '.',
  function: '.',
  offset: '.',
  length: '.',
  module: '.',
  address: '.',
  source: '*',
  callTrace: [decodedFrame],
  registers: '*',
  code: '*',
  exitCode: '.',
  exitStatus: '*',
  userSegfault: '*',
  initFailure: '*',
  oom: '*',
  oops: '.',
  explanation: '*',
  lines: '*',
  excerpt: ['.'],
  notes: ['.'],
} as const satisfies Record<keyof DecodedReport, FactSpec>;

const summary = {
  kernel: '.',
  dumpfile: '.',
  cpus: '.',
  date: '.',
  uptime: '.',
  loadAverage: '.',
  tasks: '.',
  nodename: '.',
  release: '.',
  version: '.',
  machine: '.',
  memory: '.',
  panic: '.',
  pid: '.',
  command: '.',
  task: '.',
  cpu: '.',
  state: '.',
  headline: '.',
  oops: '.',
  faultAddress: '.',
  rip: '.',
  taint: '*',
} as const satisfies Record<keyof CrashSummary, FactSpec>;

const crashFrame = {
  index: '.',
  sp: '.',
  function: '.',
  address: '.',
  module: '.',
  file: '.',
  line: '.',
  exception: {
    rip: '.',
    function: '.',
    offset: '.',
    module: '.',
    inModuleInit: '.',
    registers: '*',
  },
} as const satisfies Record<keyof CrashFrame, FactSpec>;

const crashTask = {
  pid: '.',
  ppid: '.',
  cpu: '.',
  task: '.',
  state: '.',
  memPercent: '.',
  vsz: '.',
  rss: '.',
  comm: '.',
  active: '.',
} as const satisfies Record<keyof CrashTask, FactSpec>;

/** Where the report places the fault, with the source line and struct member when they are known. */
export interface FaultFacts {
  /** The function as the kernel named it (`kdlab_null_deref_init`), else as crash did. */
  function: string;
  /** Hex offset into the function (`0x1b`), when known. */
  offset: string | null;
  module: string | null;
  /** The faulting RIP as the report has it: `kdlab_null_deref_init+0x1b/0x1000 [kdlab_null_deref]`. */
  rip: string;
  /** The faulting data address (`0x10`) of a page fault. */
  address: string | null;
  /** Where the source line was read from (the .ko's or vmlinux's debug info). */
  sourceFile: string | null;
  line: number | null;
  sourceText: string | null;
  /** The member of the recipe's struct at the fault address, read from the .ko's debug info. */
  member: { struct: string; name: string; offset: number; size: number; declaration: string } | null;
}

const fault = {
  function: '.',
  offset: '.',
  module: '.',
  rip: '.',
  address: '.',
  sourceFile: '.',
  line: '.',
  sourceText: '.',
  member: { struct: '.', name: '.', offset: '.', size: '.', declaration: '.' },
} as const satisfies Record<keyof FaultFacts, FactSpec>;

/** The crash report as facts: CrashReport without `raw`, the backtrace's frames indexable. */
const report = {
  vmcore: '.',
  vmlinux: '.',
  crashVersion: '.',
  createdAt: '.',
  summary,
  /** The backtrace's task (bt's header line). */
  task: { pid: '.', task: '.', cpu: '.', command: '.', userRegisters: '*' },
  backtrace: [crashFrame],
  cpus: '*',
  log: [{ timestamp: '.', level: '.', text: '.', panic: '.' }],
  processes: [crashTask],
  modules: [{ name: '.', base: '.', size: '.', taint: '.', taintFlags: '*' }],
  disassembly: '.',
  warnings: ['.'],
  executor: '.',
  fault,
} as const satisfies Record<Exclude<keyof CrashReport, 'raw'> | 'task' | 'fault', FactSpec>;

const meta = {
  id: '.',
  kernelRelease: '.',
  buildId: '.',
  kernelKey: '.',
  vmlinux: '.',
  createdAt: '.',
  method: '.',
  format: '.',
  trigger: '*',
  dumpLevel: '.',
  size: '.',
  guestMemoryMiB: '.',
  crashkernelMiB: '.',
  panic: '.',
  timings: '*',
  executor: '.',
} as const satisfies Record<keyof VmcoreMeta, FactSpec>;

const segfault = {
  object: '.',
  file: '.',
  ip: '.',
  base: '.',
  offset: '.',
  address: '.',
  faultAddress: '.',
  function: '.',
  sourceFile: '.',
  line: '.',
  sourceText: '.',
  instruction: '.',
  disassembly: '.',
} as const satisfies Record<keyof LocatedUserFault, FactSpec>;

/** Every fact a run can have. */
export const factSpecs = {
  answers: '*',
  executor: '.',
  console: '.',
  kernel: { release: '.', key: '.', buildId: '.' },
  programs: [{ name: '.', path: '.', file: '.', libraries: ['.'] }],
  image: { paths: ['.'], init: '*', checks: '*' },
  vm: { accel: '.', gdbPort: '.' },
  vmcore: {
    dir: '.',
    vmcore: '.',
    consoleLog: '.',
    captureDmesg: '.',
    meta,
  } satisfies Record<keyof VmcoreEntry, FactSpec>,
  captureError: { code: '.', message: '.', hint: '.' },
  advisor: { crashkernelMiB: '.', reasoning: '*' },
  crash: { output: '.' },
  gdb: { output: '.', port: '.', backtrace: [{ level: '.', function: '.', location: '.' }] },
  decoded,
  reports: [decoded],
  segfault,
  report,
} as const satisfies Record<string, FactSpec>;

export type FactRoot = keyof typeof factSpecs;

/** The facts each step kind makes (beside `answers` and `executor`, which every run has). */
export const factsMadeBy: Record<string, readonly FactRoot[]> = {
  build: ['kernel', 'programs'],
  image: ['kernel', 'programs', 'image'],
  boot: ['kernel', 'programs', 'image', 'vm', 'console'],
  send: ['console'],
  wait: ['console'],
  capture: ['kernel', 'vmcore', 'console', 'captureError', 'advisor'],
  crash: ['crash'],
  gdb: ['gdb'],
  decode: ['decoded', 'reports'],
  segfault: ['segfault', 'programs'],
  analyze: ['report'],
  question: ['answers'],
};

/** `decoded.callTrace[0].function` → ['decoded', 'callTrace', 0, 'function']. */
export function factPathParts(path: string): (string | number)[] {
  return (path.match(/[^.[\]]+|\[\d+\]/g) ?? []).map((p) => (p.startsWith('[') ? Number(p.slice(1, -1)) : p));
}

const keysOf = (spec: Record<string, FactSpec>) => Object.keys(spec).join(', ');

/**
 * Why `path` cannot be a fact of a run whose steps so far make `made`, or null when it can be.
 * Checked against the table: the root must be made by an earlier step (or this one), every name below
 * must be a field, every `[N]` an array.
 */
export function factPathProblem(path: string, made: ReadonlySet<string>): string | null {
  const parts = factPathParts(path);
  const root = parts[0];
  if (typeof root !== 'string' || !(root in factSpecs))
    return `${path}: no step makes a fact ${String(root)} (facts: ${keysOf(factSpecs)})`;
  if (!made.has(root)) {
    const makers = Object.entries(factsMadeBy)
      .filter(([, roots]) => roots.includes(root as FactRoot))
      .map(([kind]) => kind);
    return `${path}: no step up to this one makes ${root} (a ${makers.join(' or ')} step does)`;
  }
  let spec: FactSpec = factSpecs[root as FactRoot];
  let at = root;
  for (const part of parts.slice(1)) {
    if (spec === '*') return null;
    if (spec === '.') return `${path}: ${at} is a plain value, it has no ${String(part)}`;
    if (Array.isArray(spec)) {
      if (typeof part !== 'number') return `${path}: ${at} is a list: index it as ${at}[0]`;
      spec = (spec as readonly [FactSpec])[0];
      at = `${at}[${part}]`;
      continue;
    }
    const fields = spec as Record<string, FactSpec>;
    if (typeof part === 'number') return `${path}: ${at} is not a list (it has: ${keysOf(fields)})`;
    if (!Object.hasOwn(fields, part)) return `${path}: ${at} has no ${part} (it has: ${keysOf(fields)})`;
    spec = fields[part]!;
    at = `${at}.${part}`;
  }
  return null;
}

/** What a run lacks for `path`: `decoded.module: the run has no decoded.module (decoded has: …)`. */
export function missingFact(facts: Record<string, unknown>, path: string): string {
  let value: unknown = facts;
  let at = '';
  for (const part of factPathParts(path)) {
    const here = at === '' ? 'the run' : at;
    if (value === null) return `${path}: ${at} is null in this run`;
    if (typeof value !== 'object' || value === undefined)
      return `${path}: ${at} is ${JSON.stringify(value)}, it has no ${String(part)}`;
    const next = (value as Record<string | number, unknown>)[part];
    const name = typeof part === 'number' ? `${at}[${part}]` : at ? `${at}.${part}` : part;
    if (next === undefined) {
      const has = Array.isArray(value)
        ? `${value.length} item${value.length === 1 ? '' : 's'}`
        : Object.keys(value).join(', ') || 'nothing';
      return `${path}: the run has no ${name} (${here} has: ${has})`;
    }
    value = next;
    at = name;
  }
  return `${path}: is null in this run`;
}

/** `kdlab_null_deref_init+0x1b/0x1000 [kdlab_null_deref]`, `_MODULE_INIT_START_x+27`, `foo()`. */
export interface SymbolRef {
  name: string;
  offset: number | null;
  module: string | null;
}

export function parseSymbol(text: string): SymbolRef | null {
  const m =
    /^([A-Za-z_][\w.$]*)(?:\(\))?(?:\+(0x[0-9a-f]+|\d+)(?:\/(?:0x[0-9a-f]+|\d+))?)?(?:\s*\[([\w-]+)\])?$/i.exec(
      text.trim(),
    );
  if (!m) return null;
  // The kernel prints offsets in hex with 0x; crash prints them in decimal (`+27`).
  const offset = m[2] === undefined ? null : m[2].startsWith('0x') ? parseInt(m[2], 16) : Number(m[2]);
  return { name: m[1]!, offset, module: m[3]?.replace(/-/g, '_') ?? null };
}

/**
 * The same code location, as engineers write it: `f`, `f+0x1b`, `f+0x1b/0x1000`, `f+27` are all `f`
 * (offsets must agree when both are given); crash's `_MODULE_INIT_START_<mod>+N` (a module's init
 * text, which has no symbols once loaded) is the same place as `f+N` in that module.
 */
export function sameSymbol(a: SymbolRef, b: SymbolRef): boolean {
  const offsetsAgree = a.offset === null || b.offset === null || a.offset === b.offset;
  if (a.name.toLowerCase() === b.name.toLowerCase()) return offsetsAgree;
  const initOf = (s: SymbolRef) => /^_MODULE_INIT_START_(\w+)$/.exec(s.name)?.[1] ?? null;
  const [init, other] = initOf(a) !== null ? [a, b] : [b, a];
  const mod = initOf(init);
  if (mod === null || initOf(other) !== null) return false;
  return (
    init.offset !== null &&
    init.offset === other.offset &&
    (other.module === null || other.module === mod.replace(/-/g, '_'))
  );
}

/** Where the report says the kernel faulted: the log's RIP line, else crash's exception frame. */
export function faultOf(r: CrashReport): FaultFacts | null {
  const exception = r.backtrace.frames.find(
    (f) => f.exception && !/unknown|invalid/.test(f.exception.function),
  )?.exception;
  const rip = r.summary.rip ?? exception?.rip ?? null;
  const symbol = rip === null ? null : parseSymbol(rip);
  if (rip === null || symbol === null) return null;
  return {
    function: symbol.name,
    offset: symbol.offset === null ? null : `0x${symbol.offset.toString(16)}`,
    module: symbol.module ?? exception?.module ?? null,
    rip,
    address: r.summary.faultAddress,
    sourceFile: null,
    line: null,
    sourceText: null,
    member: null,
  };
}

/** The report as facts: `report.summary.*`, `report.backtrace[N].*` (the frames), `report.task.*`, `report.fault.*`. */
export function reportFacts(r: CrashReport, faultFacts: FaultFacts | null): Record<string, unknown> {
  // raw (every command's output) stays in report.json beside the vmcore: the state file keeps facts.
  const { raw: _raw, backtrace, ...rest } = r;
  const { frames, ...task } = backtrace;
  return { ...rest, task, backtrace: frames, fault: faultFacts };
}
