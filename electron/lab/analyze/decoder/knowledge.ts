// What a report means and what to do next: a small knowledge base keyed on the decoded fields,
// covering the cases the seed write-ups walk through (init exiting with 127 / 0 / SIGSEGV, no root
// fs, a NULL dereference at a small offset, O/E taints, sysrq) and the other report kinds.
import type { DecodedReport, ExitStatus, Explanation } from './types';

interface Context {
  taintedModules: string[];
  initExitNote: boolean;
}

function site(r: DecodedReport): string {
  if (!r.function) return r.address ? ` at ${r.address}` : '';
  return ` in ${r.function}${r.offset ? `+${r.offset}` : ''}${r.module ? ` [${r.module}]` : ''}`;
}

function big(value: string | null): bigint | null {
  if (!value) return null;
  try {
    return BigInt(value);
  } catch {
    return null;
  }
}

const symbolizeStep =
  'Resolve the site to a source line: kdlab decode --vmlinux <vmlinux of this build> [--modules <dir of .ko files>] (the same as scripts/decode_stacktrace.sh).';

function nullDeref(r: DecodedReport, out: Explanation): void {
  const addr = big(r.faultingAddress);
  if (addr === 0n && r.function === null && r.address !== null && big(r.address) === 0n) {
    out.summary = `The kernel jumped to address 0: it called a NULL function pointer (instruction fetch from 0).`;
    out.likelyCauses.push(
      'A function pointer in an ops structure (callback) was NULL or was cleared while still in use.',
      'The frame at the top of the call trace is the caller that made the indirect call.',
    );
    out.nextSteps.push(
      'Look at the first call-trace frame: it made the indirect call through the NULL pointer.',
    );
  } else if (addr !== null && addr > 0n && addr < 0x1000n) {
    out.summary = `The kernel read or wrote address ${r.faultingAddress}${site(r)}: a NULL structure pointer plus a field offset of 0x${addr.toString(16)}.`;
    out.likelyCauses.push(
      `A pointer to a structure was NULL and the code accessed the member at offset 0x${addr.toString(16)} (${addr} bytes) — a NULL pointer plus a field offset.`,
      'The pointer was never set, was cleared on a teardown or error path, or a lookup that can return NULL was not checked.',
    );
    out.nextSteps.push(
      `Find which member sits at offset 0x${addr.toString(16)}: pahole -C <struct> vmlinux, or gdb -batch -ex 'ptype /o struct <name>' vmlinux.`,
    );
  } else {
    out.summary = `The kernel dereferenced a NULL pointer${site(r)}.`;
    out.likelyCauses.push(
      'A pointer was NULL where the code expected a valid object (uninitialised, freed and cleared, or an unchecked error return).',
    );
  }
  out.nextSteps.push(
    symbolizeStep,
    'The Code: bytes show the faulting instruction; the register holding 0 is the NULL pointer.',
  );
}

function pagingFault(r: DecodedReport, out: Explanation): void {
  const addr = big(r.faultingAddress);
  out.summary = `The kernel touched an address it may not access (${r.faultingAddress ?? 'address not shown'})${site(r)}.`;
  const is64 = r.arch === 'x86_64' || r.arch === 'arm64' || r.arch === 'riscv64';
  if (addr !== null && is64 && addr < 0x0000800000000000n) {
    out.likelyCauses.push(
      'The address is a user-space address used directly by kernel code: a missing copy_from_user()/copy_to_user(), or SMAP/PAN stopping such an access.',
    );
  }
  poisonCauses(r.faultingAddress, out);
  out.likelyCauses.push(
    'A stale or corrupted pointer (use after free, a freed vmalloc area, an out-of-bounds index).',
  );
  out.nextSteps.push(symbolizeStep, 'Check the registers for the address to see which pointer held it.');
}

function poisonCauses(address: string | null, out: Explanation): void {
  const a = (address ?? '').toLowerCase();
  if (/6b6b6b6b/.test(a))
    out.likelyCauses.push('0x6b6b… is the slab poison of freed objects: a use after free.');
  if (/dead0000000001[02]/.test(a) || /dead000000000100|dead000000000122/.test(a))
    out.likelyCauses.push('0xdead0000000001xx is LIST_POISON: a list entry was used after list_del().');
  if (/a5a5a5a5|5a5a5a5a/.test(a))
    out.likelyCauses.push('0x5a5a… / 0xa5a5… are slab red-zone/poison patterns: memory corruption.');
}

function initExit(status: ExitStatus | null, r: DecodedReport, out: Explanation, ctx: Context): void {
  const who = r.comm ? `PID 1 (${r.comm})` : 'PID 1 (init)';
  const viaOops = r.kind !== 'init-exit' && r.kind !== 'user-segfault' && r.kind !== 'oom';
  if (status === null) {
    out.summary = `${who} exited, and the kernel cannot run without init.`;
    out.nextSteps.push('Look at the lines just before the panic: they usually say why init stopped.');
    return;
  }
  if ('exited' in status) {
    const code = status.exited;
    out.summary = `${who} exited with status ${code}; init must never exit, so the kernel panicked.`;
    if (code === 0) {
      out.likelyCauses.push(
        'init returned normally: the /init script reached its end, or ran `exit` (with a busybox shell as init, typing exit or Ctrl-D does this).',
        'An init that should hand over to the real system (switch_root, exec /sbin/init) did not exec it.',
      );
      if (r.userSegfault)
        out.likelyCauses.unshift(
          `It exited with 0 after a SIGSEGV: its own signal handler caught the crash and called exit(0) — the segfault line is the real cause.`,
        );
      out.nextSteps.push(
        'End /init with `exec /bin/sh` or `exec switch_root /newroot /sbin/init` instead of letting it return.',
      );
    } else if (code === 127) {
      out.likelyCauses.push(
        'Status 127 is the shell\'s "command not found": init (a script) tried to run a program that is not in the image.',
        'Or the program exists but cannot start: its #! interpreter, its ELF loader (/lib64/ld-linux-x86-64.so.2) or a shared library it needs is missing.',
      );
      out.nextSteps.push(
        'Check the /init #! line and every command it runs against the image contents; copy the libraries `ldd` lists, or use a static busybox.',
        "kdlab's pre-boot image checks catch a missing interpreter, loader or library before booting.",
      );
    } else if (code === 126) {
      out.likelyCauses.push(
        'Status 126: a command was found but is not executable (mode bits, wrong architecture, noexec mount).',
      );
      out.nextSteps.push(
        'chmod +x the program in the image and check it is built for the guest architecture.',
      );
    } else {
      out.likelyCauses.push(
        `init stopped with status ${code}: a command in it failed and the script exited (set -e, or an explicit exit ${code}).`,
      );
      out.nextSteps.push(
        "The console lines just before the panic usually carry the failing command's message.",
      );
    }
    return;
  }
  out.summary = `${who} was killed by ${status.signalName}${status.coreDumped ? ' (core dumped)' : ''}; the kernel cannot run without init and panicked.`;
  switch (status.signalName) {
    case 'SIGSEGV':
      out.likelyCauses.push(
        'init crashed with a segmentation fault: a bad pointer in init itself or in a library it loaded (a library built for another version, a NULL pointer).',
      );
      out.nextSteps.push(
        'Look for the `init[1]: segfault at … ip … in OBJ[BASE+SIZE]` line: ip − BASE is the offset to disassemble in OBJ (objdump -d).',
        'Run the same binary in a chroot of the image under gdb to reproduce it.',
      );
      break;
    case 'SIGKILL':
      if (viaOops || ctx.initExitNote)
        out.likelyCauses.push(
          'A kernel oops happened while PID 1 was running kernel code; the kernel killed the task, which took init down.',
        );
      else
        out.likelyCauses.push(
          "Something killed init with SIGKILL: most often the OOM killer (look for `Killed process 1`), or an oops in PID 1's context.",
        );
      out.nextSteps.push('Decode the report before the panic: it is the real cause.');
      break;
    case 'SIGILL':
      out.likelyCauses.push(
        'init executed an illegal instruction: a binary built for a newer CPU (-march) or another architecture.',
      );
      out.nextSteps.push("Check the binary's target (file, readelf -h) and the guest CPU model (QEMU -cpu).");
      break;
    case 'SIGABRT':
      out.likelyCauses.push('init called abort(): an assertion or a fatal error inside init itself.');
      break;
    case 'SIGBUS':
      out.likelyCauses.push(
        'init touched a mapping past the end of its file, or misaligned memory: a truncated binary or library.',
      );
      break;
    default:
      out.likelyCauses.push(`init received ${status.signalName} and had no handler for it.`);
  }
  if (r.oom?.victims.some((v) => v.pid === 1))
    out.likelyCauses.unshift(
      'The OOM killer chose PID 1 as a victim (memory.oom.group, or oom_score_adj not protecting init).',
    );
}

function initFailure(r: DecodedReport, out: Explanation): void {
  const f = r.initFailure;
  if (!f) return;
  const path = f.path ?? 'init';
  out.likelyCauses.push(`The kernel could not execute ${path}: ${f.errnoName} (${f.meaning}).`);
  switch (f.errnoName) {
    case 'ENOENT':
      out.likelyCauses.push(
        `${path} is missing, or it exists but its #! interpreter or its ELF loader is missing (exec reports ENOENT for those too).`,
      );
      out.nextSteps.push(
        `Check that ${path} exists in the image, that its #! line points at a shell in the image, and that a dynamic binary's loader and libraries are there.`,
      );
      break;
    case 'ENOEXEC':
      out.likelyCauses.push(
        `${path} is not a format this kernel runs: a script without a #! line, or a binary for another architecture.`,
      );
      out.nextSteps.push(
        'Start the script with #!/bin/sh, or rebuild the binary for the guest architecture.',
      );
      break;
    case 'EACCES':
      out.likelyCauses.push(`${path} is not executable (mode bits) or lives on a noexec mount.`);
      out.nextSteps.push(`chmod 755 ${path} in the image.`);
      break;
    default:
      out.nextSteps.push(`Check ${path} in the image.`);
  }
}

export function explain(r: DecodedReport, ctx: Context): Explanation {
  const out: Explanation = { summary: '', likelyCauses: [], nextSteps: [] };
  switch (r.kind) {
    case 'null-deref':
      nullDeref(r, out);
      break;
    case 'paging-fault':
      pagingFault(r, out);
      break;
    case 'gpf':
      out.summary = `General protection fault${site(r)}${r.faultingAddress ? ` on the non-canonical address ${r.faultingAddress}` : ''}.`;
      poisonCauses(r.faultingAddress, out);
      out.likelyCauses.push(
        'A corrupted pointer (non-canonical: its upper bits are not all 0 or all 1) — memory corruption, a use after free, or uninitialised data used as a pointer.',
      );
      out.nextSteps.push(
        symbolizeStep,
        'Look for the register holding the bad address; KASAN (CONFIG_KASAN) finds the corrupting write.',
      );
      break;
    case 'bug': {
      const at = /kernel BUG at (\S+?)!?$/.exec(r.title);
      out.summary = at
        ? `A BUG_ON() assertion failed at ${at[1]}${site(r)}: the kernel found a state it considers impossible.`
        : `The kernel reported a bug: ${r.title}${site(r)}.`;
      out.likelyCauses.push(
        'The condition in the BUG_ON()/BUG() at that source line was true: read the line and the comment around it.',
      );
      out.nextSteps.push(symbolizeStep);
      break;
    }
    case 'warning': {
      const at = / at (\S+:\d+) /.exec(r.title);
      out.summary = `A WARN_ON() fired${at ? ` at ${at[1]}` : ''}${site(r)}. A warning is not fatal by itself${r.panic ? ', but this kernel panics on warnings (panic_on_warn)' : ''}.`;
      out.likelyCauses.push(
        'The condition in the WARN_ON() at that source line was true: the kernel noticed an unexpected state and carried on.',
      );
      out.nextSteps.push(
        symbolizeStep,
        'The warning taints the kernel with W; later reports may be consequences of it.',
      );
      break;
    }
    case 'soft-lockup':
      out.summary = `CPU ${r.cpu ?? '?'} ran kernel code${site(r)} for too long without scheduling (soft lockup).`;
      out.likelyCauses.push(
        'A loop in kernel code with preemption disabled: spinning on a lock held elsewhere, or waiting for other CPUs (smp_call_function_many).',
        'Under virtualization an overloaded host (or QEMU TCG emulation) can stall a vCPU long enough to trigger this without a kernel bug.',
      );
      out.nextSteps.push(
        'The RIP function is where the CPU was spinning; the call trace shows why it was waiting.',
      );
      break;
    case 'hung-task':
      out.summary = `Task ${r.comm ?? '?'}${r.pid !== null ? ` (PID ${r.pid})` : ''} was blocked in uninterruptible sleep (D state) for too long.`;
      out.likelyCauses.push(
        'It waits for something that never happens: an I/O that does not complete, a lock held by another stuck task, a completion never signalled.',
      );
      out.nextSteps.push(
        'Read its call trace from the top: the first frames after schedule() name what it waits for.',
        'echo w > /proc/sysrq-trigger lists every blocked task; a lock held by one of them is the usual culprit.',
      );
      break;
    case 'rcu-stall':
      out.summary = `RCU stall: a CPU${r.cpu !== null ? ` (${r.cpu})` : ''} did not pass a quiescent state in time${site(r)}.`;
      out.likelyCauses.push(
        'A long loop with preemption or interrupts disabled on the stalled CPU, or the RCU grace-period kthread starved of CPU time.',
      );
      out.nextSteps.push("The stalled CPU's NMI backtrace (its RIP) shows where it was looping.");
      break;
    case 'init-exit':
      initExit(r.exitStatus, r, out, ctx);
      break;
    case 'vfs-no-root':
      out.summary =
        'The kernel had no init to run from an initramfs, tried to mount the root= file system, and could not.';
      if (/unknown-block\(0,0\)/.test(r.panicMessage ?? r.title))
        out.likelyCauses.push(
          'unknown-block(0,0) means no block device was named or found at all: there is no /init in the initramfs (or no initramfs), and no usable root= was given.',
        );
      out.likelyCauses.push(
        "The root device's driver or file system is not built into the kernel (=m instead of =y, e.g. virtio_blk or ext4).",
        'A wrong root= (device name, UUID, or partition that does not exist).',
      );
      out.nextSteps.push(
        'For an initramfs lab: put an executable /init in the cpio (or pass rdinit=/path).',
        'Otherwise pass a valid root= and build the disk driver and file system into the kernel; the "available partitions" list above the panic shows what the kernel sees.',
      );
      break;
    case 'oom': {
      const victim = r.comm ? `${r.comm} (PID ${r.pid ?? '?'})` : 'a process';
      out.summary = `The kernel ran out of memory${r.oom?.constraint === 'CONSTRAINT_MEMCG' || r.oom?.victims.length ? '' : ''} and the OOM killer killed ${victim}${r.oom?.invokedBy ? `; the allocation came from ${r.oom.invokedBy}` : ''}.`;
      if (r.oom?.constraint === 'CONSTRAINT_MEMCG' || /Memory cgroup/.test(r.excerpt.join('\n')))
        out.likelyCauses.push(
          "A memory cgroup limit was reached (not the whole machine): the cgroup's memory.max is too small for its load.",
        );
      else
        out.likelyCauses.push(
          'The whole system ran out of memory: a leak, or more load than RAM (guest memory too small).',
        );
      out.nextSteps.push(
        'Read the memory usage table in the report; give the guest or cgroup more memory, or find the leaking task.',
      );
      break;
    }
    case 'fatal-exception':
      out.summary =
        'The kernel panicked after an oops ("Fatal exception"), but the oops itself is not in this log.';
      out.likelyCauses.push('The report scrolled away or was not captured: only the panic tail is shown.');
      out.nextSteps.push(
        'Capture the whole console: a serial console log (kdlab keeps one per VM), netconsole, pstore/ramoops, or kdump and `crash` `log`.',
      );
      break;
    case 'sysrq':
      out.summary = 'A deliberate crash: someone wrote "c" to /proc/sysrq-trigger (or pressed SysRq+C).';
      out.likelyCauses.push('This is how kdump setups are tested; nothing is broken.');
      out.nextSteps.push(
        'If kdump was loaded, a vmcore should have been captured: open it with crash (sys, bt, log).',
      );
      break;
    case 'kasan': {
      const what = /KASAN: (\S+)/.exec(r.title);
      out.summary = `KASAN caught an invalid memory access (${what?.[1] ?? 'memory error'})${site(r)}${r.faultingAddress ? ` at ${r.faultingAddress}` : ''}.`;
      out.likelyCauses.push(
        what?.[1] === 'use-after-free'
          ? 'An object was used after it was freed.'
          : 'An access outside the bounds of an allocated object (an off-by-one or a wrong size).',
      );
      out.nextSteps.push(
        "The report's Allocated:/Freed: stacks show who created and who freed the object.",
        symbolizeStep,
      );
      break;
    }
    case 'user-segfault': {
      const s = r.userSegfault;
      const who = `${r.comm ?? 'a process'}${r.pid !== null ? `[${r.pid}]` : ''}`;
      out.summary = `User-space ${who} crashed with SIGSEGV${s?.object ? ` in ${s.object}` : ''}${s?.offsetInObject ? ` at offset ${s.offsetInObject}` : ''}${s?.address ? ` accessing ${s.address}` : ''}.`;
      const addr = big(s?.address ?? null);
      if (addr !== null && addr < 0x10000n)
        out.likelyCauses.push(
          addr === 0n
            ? 'It dereferenced a NULL pointer.'
            : `It dereferenced a NULL pointer plus a field offset of ${s!.address} (a member of a structure whose pointer was NULL).`,
        );
      if (s?.errorDecoded) out.likelyCauses.push(`The access was a ${s.errorDecoded}.`);
      out.nextSteps.push(
        s?.object
          ? `Disassemble ${s.object} around the offset: objdump -d ${s.object} (add the mapping's file offset for a shared library${s.fileOffset ? `; the kernel printed it: ${s.fileOffset}` : ''}), or addr2line -f -e ${s.object} ${s.offsetInObject ?? ''}.`
          : 'Disassemble the binary around the ip.',
        'The Code: bytes after the line are the instructions at ip; the register that holds the small address is the NULL pointer.',
      );
      if (r.pid === 1) {
        out.likelyCauses.unshift(
          'The crashing process is PID 1: when init dies the kernel panics ("Attempted to kill init!").',
        );
        if (r.exitStatus) {
          const detail: Explanation = { summary: '', likelyCauses: [], nextSteps: [] };
          initExit(r.exitStatus, r, detail, ctx);
          out.likelyCauses.push(...detail.likelyCauses.filter((c) => /SIGSEGV|signal handler/.test(c)));
        }
      }
      break;
    }
    case 'other':
      if (r.initFailure || /No working init found/.test(r.panicMessage ?? '')) {
        out.summary = 'The kernel found no init it could execute and panicked.';
        initFailure(r, out);
        out.nextSteps.push(
          'Pass init=/path (or rdinit= for an initramfs) pointing at an executable that exists in the image.',
        );
      } else if (/hard LOCKUP/.test(r.title)) {
        out.summary = 'Hard lockup: a CPU stopped taking interrupts (a loop with interrupts disabled).';
        out.nextSteps.push('The NMI backtrace of that CPU shows where it was spinning.');
      } else {
        out.summary = r.panicMessage ? `The kernel panicked: ${r.panicMessage}` : `Kernel report: ${r.title}`;
        out.nextSteps.push(symbolizeStep);
      }
      break;
  }
  if (r.exitStatus && r.kind !== 'init-exit' && r.kind !== 'user-segfault') {
    const detail: Explanation = { summary: '', likelyCauses: [], nextSteps: [] };
    initExit(r.exitStatus, r, detail, ctx);
    out.likelyCauses.push(`It then ended in a panic: ${detail.summary}`);
  } else if (
    r.panic &&
    r.kind !== 'init-exit' &&
    r.kind !== 'fatal-exception' &&
    r.panicMessage &&
    /Fatal exception/.test(r.panicMessage)
  ) {
    out.likelyCauses.push(
      'The oops was fatal (in interrupt context, or panic_on_oops is set), so the kernel panicked.',
    );
  }
  if (r.module) out.likelyCauses.unshift(`The faulting code is in the module ${r.module}.`);
  const flags = r.tainted ?? '';
  if (/[OE]/.test(flags)) {
    const mods = ctx.taintedModules.length ? `: ${ctx.taintedModules.join(', ')}` : '';
    out.likelyCauses.push(
      `The kernel is tainted ${flags.replace(/[^OE]/g, '')}: an out-of-tree (O) or unsigned (E) module is loaded${mods}. If it appears in the trace, suspect it first; upstream will want a report without it.`,
    );
  }
  if (flags.includes('P'))
    out.likelyCauses.push('A proprietary module (taint P) is loaded: its code cannot be inspected.');
  if (flags.includes('D'))
    out.likelyCauses.push(
      'Taint D: an earlier oops happened; this report may be a consequence — decode the first one.',
    );
  if (r.kind !== 'warning' && flags.includes('W'))
    out.likelyCauses.push('Taint W: a warning was printed earlier; look for it.');
  if (r.kind === 'other' && !out.summary) out.summary = `Kernel report: ${r.title}`;
  return out;
}
