// The structured crash report (pure data, shared with the API contract and the renderer).
import type { TaintFlag } from '../decoder/types';

export type { TaintFlag };

/** The kernel's taint at the crash, each letter decoded (Documentation/admin-guide/tainted-kernels.rst). */
export interface CrashTaint {
  /** The letters as the kernel printed them (`G O`), or crash's `sys -t` letters; '' when not tainted. */
  flags: string;
  decoded: TaintFlag[];
  /** tainted_mask (hex) as crash read it from the dump with `sys -t`; null when crash did not show it. */
  mask: string | null;
  /** Where `flags` comes from: the panicking CPU's `Tainted:` line in the log, or crash's `sys -t`. */
  source: 'log' | 'crash';
}

export interface CrashSummary {
  kernel: string | null;
  dumpfile: string | null;
  cpus: number | null;
  date: string | null;
  uptime: string | null;
  loadAverage: string | null;
  tasks: number | null;
  nodename: string | null;
  release: string | null;
  version: string | null;
  machine: string | null;
  memory: string | null;
  panic: string | null;
  pid: number | null;
  command: string | null;
  task: string | null;
  cpu: number | null;
  state: string | null;
  /** The report's first line in the log: `BUG: kernel NULL pointer dereference, address: …`, `kernel BUG at …`, or `Kernel panic - not syncing: …`. */
  headline: string | null;
  /** The `Oops: 0000 [#1] SMP` line (or `invalid opcode: …`), when the crash was an oops. */
  oops: string | null;
  /** The faulting data address of a page fault (`0x…`), when there is one. */
  faultAddress: string | null;
  /** The faulting instruction as the log prints it: `kdlab_null_deref_init+0x1b/0x1000 [kdlab_null_deref]`. */
  rip: string | null;
  taint: CrashTaint | null;
}

export interface CrashFrame {
  index: number;
  sp: string | null;
  function: string;
  address: string | null;
  module: string | null;
  file: string | null;
  line: number | null;
  /** The registers of an exception frame that follows this frame (`[exception RIP: …]`). */
  exception: CrashException | null;
}

export interface CrashException {
  /** As crash prints it, e.g. `_MODULE_INIT_START_kdlab_null_deref+27` or `sysrq_handle_crash+22`. */
  rip: string;
  function: string;
  offset: number | null;
  /** The module the faulting code belongs to (`[mod]`, or a fault in a module's init code). */
  module: string | null;
  /** True for `_MODULE_INIT_START_<mod>`: the module's init code, which has no symbols once loaded. */
  inModuleInit: boolean;
  registers: Record<string, string>;
}

export interface CrashBacktrace {
  pid: number | null;
  task: string | null;
  cpu: number | null;
  command: string | null;
  frames: CrashFrame[];
  /** Registers of the user-mode frame at the bottom (syscall entry), when shown. */
  userRegisters: Record<string, string>;
}

export interface CrashLogLine {
  timestamp: number | null;
  level: number | null;
  text: string;
  /** Part of the panic excerpt (the last report before the dump). */
  panic: boolean;
}

export interface CrashTask {
  pid: number;
  ppid: number;
  cpu: number;
  task: string;
  state: string;
  memPercent: number;
  vsz: number;
  rss: number;
  comm: string;
  active: boolean;
}

export interface CrashModule {
  name: string;
  base: string;
  size: number;
  taint: string | null;
  /** The module's taint letters decoded (`O`: out-of-tree). */
  taintFlags: TaintFlag[];
}

export interface CrashReport {
  vmcore: string;
  vmlinux: string;
  crashVersion: string | null;
  createdAt: string;
  summary: CrashSummary;
  backtrace: CrashBacktrace;
  /** `bt -a`: the active task on every CPU. */
  cpus: CrashBacktrace[];
  log: CrashLogLine[];
  processes: CrashTask[];
  modules: CrashModule[];
  /** `dis -l` around the faulting instruction, when there is an exception frame. */
  disassembly: string | null;
  /** The raw output of each crash command, for the curious and for bug reports. */
  raw: Record<string, string>;
  /** What crash warned about that limits the report (e.g. a crash too old for the kernel). */
  warnings: string[];
  /** Where readelf and crash ran ("host", or the Docker image and engine); absent in older reports. */
  executor?: string;
}
