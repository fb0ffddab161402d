// The structured crash report (pure data, shared with the API contract and the renderer).

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
