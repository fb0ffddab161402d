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
  exception: { rip: string; registers: Record<string, string> } | null;
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
  log: CrashLogLine[];
  processes: CrashTask[];
  modules: CrashModule[];
  /** `dis -l` around the faulting instruction, when there is an exception frame. */
  disassembly: string | null;
  /** The raw output of each crash command, for the curious and for bug reports. */
  raw: Record<string, string>;
}
