// What the panic-log decoder returns for each report it finds. Field names are the contract of
// issue 4 ("Decoder — console logs, no vmcore needed"); hex values are strings, `0x` + the digits as
// printed; `null` means the log does not show the fact.
import type { LocalText } from '../../../common/local-text';

export const reportKinds = [
  'null-deref',
  'paging-fault',
  'gpf',
  'bug',
  'warning',
  'soft-lockup',
  'hung-task',
  'rcu-stall',
  'init-exit',
  'vfs-no-root',
  'oom',
  'fatal-exception',
  'sysrq',
  'kasan',
  'user-segfault',
  'other',
] as const;

export type ReportKind = (typeof reportKinds)[number];

export type Arch = 'x86_64' | 'i386' | 'arm64' | 'arm' | 'riscv64';

export interface SourceLocation {
  function: string;
  file: string;
  line: number | null;
  /** True for every location but the last one of an inline chain (the caller that was inlined into). */
  inlined: boolean;
}

export interface Frame {
  function: string | null;
  offset: string | null;
  length: string | null;
  module: string | null;
  /** False for `? ` frames: stack words that merely look like return addresses. */
  reliable: boolean;
  /** The `[<address>]` printed before old-style frames. */
  address: string | null;
  /** Filled by symbolization: innermost first, like scripts/decode_stacktrace.sh. */
  source?: SourceLocation[];
}

export interface CodeBytes {
  /** The bytes as printed after `Code:` (ANSI and prefixes removed). */
  text: string;
  /** Hex tokens without the markers: bytes on x86, instruction words on arm/arm64. */
  bytes: string[];
  /** Index in `bytes` of the trapping byte (`<f6>`) or word (`(e5823000)`); null when not marked. */
  trapIndex: number | null;
  /** Whose code it is: the kernel's (`RIP: 0010`, `pc :`) or a user process's (`RIP: 0033`, segfault). */
  context: 'kernel' | 'user';
  /** Why there are no bytes (`Bad RIP value.`), or that the line was cut (journalctl's `>`). */
  note: string | null;
  /** Filled by symbolization: objdump's output, the trapping instruction marked. */
  disassembly?: DisassembledLine[];
}

export interface DisassembledLine {
  address: string;
  bytes: string;
  instruction: string;
  trapping: boolean;
}

export type ExitStatus = { exited: number } | { signal: number; signalName: string; coreDumped: boolean };

export interface UserSegfault {
  /** The faulting data address (`segfault at A`); null for `traps:` lines, which do not print one. */
  address: string | null;
  ip: string;
  sp: string | null;
  error: string | null;
  errorDecoded: string | null;
  object: string | null;
  base: string | null;
  size: string | null;
  /** ip − base: the offset into the mapping printed in brackets. */
  offsetInObject: string | null;
  /** The file offset printed by newer kernels (`OBJ[OFFSET,BASE+SIZE]`), else null. */
  fileOffset: string | null;
}

export interface InitFailure {
  path: string | null;
  errno: number;
  errnoName: string;
  meaning: string;
}

export interface TaintFlag {
  flag: string;
  meaning: string;
}

/** In every interface language: the renderer picks one when it renders, the CLI prints English by default. */
export interface Explanation {
  summary: LocalText;
  likelyCauses: LocalText[];
  nextSteps: LocalText[];
}

export interface OomInfo {
  /** The task that asked for memory (`X invoked oom-killer`); not the victim. */
  invokedBy: string | null;
  constraint: string | null;
  victims: { pid: number; comm: string }[];
}

export interface DecodedReport {
  kind: ReportKind;
  /** The line that opened the report, e.g. `BUG: kernel NULL pointer dereference, address: …`. */
  title: string;
  panic: boolean;
  panicMessage: string | null;
  arch: Arch | null;
  kernelRelease: string | null;
  comm: string | null;
  pid: number | null;
  cpu: number | null;
  tainted: string | null;
  taintFlags: TaintFlag[];
  faultingAddress: string | null;
  function: string | null;
  offset: string | null;
  length: string | null;
  module: string | null;
  /** The site's raw address when the log shows one (`IP: [<…>]`, `RIP: 0010:0x0`). */
  address: string | null;
  /** Filled by symbolization: the site's file:line, inlines first. */
  source?: SourceLocation[];
  callTrace: Frame[];
  registers: Record<string, string>;
  code: CodeBytes | null;
  exitCode: string | null;
  exitStatus: ExitStatus | null;
  userSegfault: UserSegfault | null;
  initFailure: InitFailure | null;
  oom: OomInfo | null;
  /** `Oops: 0002 [#1] SMP PTI` and friends, as printed. */
  oops: string | null;
  explanation: Explanation;
  /** 1-based line numbers of the report in the input (after glued lines were split). */
  lines: { first: number; last: number };
  /** The report's own lines, prefixes removed (capped, for display). */
  excerpt: string[];
  /** What symbolization could not do, in words (missing tool, module not found…). */
  notes: string[];
}
