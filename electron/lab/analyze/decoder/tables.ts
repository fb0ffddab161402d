// Fixed tables the decoder reads from: taint letters, signals, errno values, x86 page-fault error
// bits, and wait-status decoding. All from the kernel's own headers and documentation.
import type { ExitStatus, TaintFlag } from './types';

/** Documentation/admin-guide/tainted-kernels.rst (letters as printed by print_tainted()). */
export const taintMeanings: Record<string, string> = {
  G: 'all loaded modules are GPL-compatible (no proprietary module)',
  P: 'a proprietary (non-GPL) module was loaded',
  F: 'a module was force-loaded (insmod -f)',
  S: 'the kernel runs on an out-of-specification system (SMP-unsafe CPU, or a CPU setting marked unsafe)',
  R: 'a module was force-unloaded (rmmod -f)',
  M: 'a machine check exception (hardware error) was reported',
  B: 'a bad page was referenced or page flags were unexpected (memory corruption)',
  U: 'user space asked for the taint (e.g. through /proc/sys/kernel/tainted)',
  D: 'the kernel has died recently (an earlier oops or BUG)',
  A: 'an ACPI table was overridden by the user',
  W: 'the kernel issued a warning earlier (WARN_ON)',
  C: 'a staging driver was loaded',
  I: 'a workaround for a severe firmware bug is in use',
  O: 'an out-of-tree (externally built) module was loaded',
  E: 'an unsigned module was loaded into a kernel that supports module signatures',
  L: 'a soft lockup occurred earlier',
  K: 'the kernel has been live-patched',
  X: 'an auxiliary taint, defined by the distribution',
  T: 'the kernel was built with the struct-randomization plugin (randstruct)',
  N: 'an in-kernel test (KUnit) has been run',
};

export function decodeTaint(flags: string | null): TaintFlag[] {
  if (!flags) return [];
  const out: TaintFlag[] = [];
  for (const flag of flags.replace(/\s+/g, '')) {
    out.push({ flag, meaning: taintMeanings[flag] ?? 'unknown taint flag' });
  }
  return out;
}

/** Linux signal numbers (x86, arm, arm64 and riscv share them). */
export const signalNames: Record<number, string> = {
  1: 'SIGHUP',
  2: 'SIGINT',
  3: 'SIGQUIT',
  4: 'SIGILL',
  5: 'SIGTRAP',
  6: 'SIGABRT',
  7: 'SIGBUS',
  8: 'SIGFPE',
  9: 'SIGKILL',
  10: 'SIGUSR1',
  11: 'SIGSEGV',
  12: 'SIGUSR2',
  13: 'SIGPIPE',
  14: 'SIGALRM',
  15: 'SIGTERM',
  16: 'SIGSTKFLT',
  17: 'SIGCHLD',
  18: 'SIGCONT',
  19: 'SIGSTOP',
  20: 'SIGTSTP',
  21: 'SIGTTIN',
  22: 'SIGTTOU',
  23: 'SIGURG',
  24: 'SIGXCPU',
  25: 'SIGXFSZ',
  26: 'SIGVTALRM',
  27: 'SIGPROF',
  28: 'SIGWINCH',
  29: 'SIGIO',
  30: 'SIGPWR',
  31: 'SIGSYS',
};

/** `exitcode=` in "Attempted to kill init!" is a wait status, as waitpid() would report it. */
export function decodeWaitStatus(code: number): ExitStatus {
  const signal = code & 0x7f;
  if (signal === 0) return { exited: (code >> 8) & 0xff };
  return {
    signal,
    signalName: signalNames[signal] ?? (signal >= 32 ? `SIGRTMIN+${signal - 32}` : `signal ${signal}`),
    coreDumped: (code & 0x80) !== 0,
  };
}

/** include/uapi/asm-generic/errno-base.h and errno.h: the ones exec and mount return. */
export const errnoTable: Record<number, [string, string]> = {
  1: ['EPERM', 'operation not permitted'],
  2: ['ENOENT', 'no such file or directory'],
  5: ['EIO', 'input/output error'],
  6: ['ENXIO', 'no such device or address'],
  7: ['E2BIG', 'argument list too long'],
  8: ['ENOEXEC', 'exec format error (not an executable this kernel can run)'],
  12: ['ENOMEM', 'out of memory'],
  13: ['EACCES', 'permission denied'],
  14: ['EFAULT', 'bad address'],
  16: ['EBUSY', 'device or resource busy'],
  19: ['ENODEV', 'no such device'],
  20: ['ENOTDIR', 'not a directory'],
  21: ['EISDIR', 'is a directory'],
  22: ['EINVAL', 'invalid argument'],
  26: ['ETXTBSY', 'text file busy'],
  28: ['ENOSPC', 'no space left on device'],
  30: ['EROFS', 'read-only file system'],
  36: ['ENAMETOOLONG', 'file name too long'],
  40: ['ELOOP', 'too many levels of symbolic links'],
  95: ['EOPNOTSUPP', 'operation not supported'],
  117: ['EUCLEAN', 'structure needs cleaning (file system corrupted)'],
};

export function errnoName(errno: number): { name: string; meaning: string } {
  const hit = errnoTable[Math.abs(errno)];
  return hit ? { name: hit[0], meaning: hit[1] } : { name: `E${Math.abs(errno)}`, meaning: 'unknown error' };
}

/** arch/x86/include/asm/trap_pf.h: the `error N` of a user segfault line (hex). */
export function decodePageFaultError(hex: string): string {
  const code = parseInt(hex, 16);
  if (Number.isNaN(code)) return 'unreadable error code';
  const parts: string[] = [];
  parts.push(code & 4 ? 'user-mode' : 'kernel-mode');
  parts.push(code & 16 ? 'instruction fetch' : code & 2 ? 'write' : 'read');
  parts.push(code & 1 ? 'on a present page (protection violation)' : 'of a page that is not present');
  if (code & 8) parts.push('with a reserved bit set in a page-table entry');
  if (code & 32) parts.push('blocked by a protection key');
  if (code & 0x8000) parts.push('(SGX)');
  return parts.join(' ');
}

/** `0x` + digits as printed, or null. */
export function hex(digits: string | undefined | null): string | null {
  if (digits === undefined || digits === null || digits === '') return null;
  return digits.startsWith('0x') || digits.startsWith('0X') ? `0x${digits.slice(2)}` : `0x${digits}`;
}
