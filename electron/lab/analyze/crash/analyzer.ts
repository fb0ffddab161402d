// kdlab analyze: checks that vmlinux and vmcore belong together before crash's long wait, runs
// crash non-interactively (`crash -s`, one process, commands separated by `!echo` markers), parses
// the output into a typed report stored beside the vmcore, and renders it as Markdown or HTML.
import { open, readFile, stat } from 'node:fs/promises';
import { dirname, join } from 'node:path';
import { LabError } from '../../../common/errors';
import type { Progress } from '../../jobs';
import { readBuildId } from '../../kernel/kernel-builder';
import { findExecutable, runCommand } from '../../process';
import { writeJsonAtomic } from '../../workspace';
import { parseBacktrace, parseLog, parseModules, parsePs, parseSys } from './parsers';
import type { CrashReport } from './types';

const separator = 'KDLAB-CRASH-CMD';
const commands = ['sys', 'bt -l', 'log -m', 'ps', 'mod', 'mod -t'] as const;

/** What a dump says about the kernel it came from: VMCOREINFO's OSRELEASE and BUILD-ID. */
export async function readVmcoreInfo(
  vmcore: string,
): Promise<{ format: string; release: string | null; buildId: string | null }> {
  const info = await stat(vmcore).catch(() => null);
  if (!info) throw new LabError('NOT_FOUND', `${vmcore} does not exist.`);
  if (info.size < 4096)
    throw new LabError(
      'BAD_REQUEST',
      `${vmcore} is ${info.size} bytes: far too small to be a vmcore (truncated?).`,
    );
  const handle = await open(vmcore, 'r');
  try {
    // VMCOREINFO sits in the first megabytes in kdump-compressed and ELF dumps alike.
    const head = Buffer.alloc(Math.min(info.size, 16 * 1024 * 1024));
    await handle.read(head, 0, head.length, 0);
    const sig = head.subarray(0, 8).toString('latin1');
    const format =
      sig === 'KDUMP   '
        ? 'kdump-compressed'
        : sig.startsWith('\x7fELF')
          ? 'elf'
          : sig.startsWith('makedump')
            ? 'flattened'
            : null;
    if (!format)
      throw new LabError(
        'BAD_REQUEST',
        `${vmcore} is not a vmcore: it starts with neither the KDUMP, ELF nor makedumpfile flattened signature (corrupt, or not a dump at all).`,
        'Capture it again; a vmcore made by makedumpfile or QEMU dump-guest-memory is expected.',
      );
    const text = head.toString('latin1');
    return {
      format,
      release: /OSRELEASE=([^\n\0]+)/.exec(text)?.[1] ?? null,
      buildId: /BUILD-ID=([0-9a-f]+)/.exec(text)?.[1] ?? null,
    };
  } finally {
    await handle.close();
  }
}

/** The `Linux version …` banner compiled into vmlinux (scanned, the file is large). */
export async function readVmlinuxRelease(vmlinux: string): Promise<string | null> {
  const handle = await open(vmlinux, 'r');
  try {
    const chunk = Buffer.alloc(8 * 1024 * 1024);
    let carry = '';
    for (let pos = 0; ; pos += chunk.length) {
      const { bytesRead } = await handle.read(chunk, 0, chunk.length, pos);
      if (bytesRead === 0) return null;
      const text = carry + chunk.subarray(0, bytesRead).toString('latin1');
      const m = /Linux version (\d+\.\d+\S*) \(/.exec(text);
      if (m) return m[1]!;
      carry = text.slice(-256);
    }
  } finally {
    await handle.close();
  }
}

/** Refuses a vmlinux/vmcore pair that cannot work, at once and naming both sides. */
export async function checkPair(
  vmlinux: string,
  vmcore: string,
): Promise<{ release: string | null; buildId: string | null }> {
  if (!(await stat(vmlinux).catch(() => null))) throw new LabError('NOT_FOUND', `${vmlinux} does not exist.`);
  const core = await readVmcoreInfo(vmcore);
  const sections = await runCommand(['readelf', '-S', '-W', vmlinux], { timeoutMs: 30_000 });
  if (sections.exitCode !== 0)
    throw new LabError(
      'BAD_REQUEST',
      `${vmlinux} is not an ELF kernel image (readelf: ${sections.stderr.trim()}).`,
      'Use the vmlinux from the kernel build, not bzImage.',
    );
  if (!sections.stdout.includes('.debug_info'))
    throw new LabError(
      'BAD_REQUEST',
      `${vmlinux} has no debug information (.debug_info): crash cannot read structures or source lines without it.`,
      'Use the unstripped vmlinux of the build (CONFIG_DEBUG_INFO=y; kdlab keeps it in the kernels cache).',
    );
  const buildId = await readBuildId(vmlinux);
  if (core.buildId && buildId && core.buildId !== buildId) {
    const release = await readVmlinuxRelease(vmlinux);
    throw new LabError(
      'BAD_REQUEST',
      `vmlinux and vmcore do not belong together: the vmcore was written by ${core.release ?? 'a kernel'} with build id ${core.buildId}, and ${vmlinux} is ${release ?? 'a kernel'} with build id ${buildId}.`,
      'Use the vmlinux from the same build as the crashed kernel (kdlab vmcores show ID names it).',
    );
  }
  if (!core.buildId && core.release) {
    const release = await readVmlinuxRelease(vmlinux);
    if (release && release !== core.release)
      throw new LabError(
        'BAD_REQUEST',
        `vmlinux and vmcore do not belong together: the vmcore is from ${core.release}, ${vmlinux} is ${release}.`,
        'Use the vmlinux from the same build as the crashed kernel.',
      );
  }
  return { release: core.release, buildId: core.buildId };
}

/** crash's own complaints, turned into what happened and what to do. */
export function explainCrashFailure(output: string, vmcore: string): LabError | null {
  if (
    /is not supported by this version of crash|crash: .*version.* is not supported|cannot determine .*kernel version/i.test(
      output,
    ) ||
    /crash: cannot resolve "init_task"/.test(output)
  )
    return new LabError(
      'UNAVAILABLE',
      `This crash is too old for the kernel in ${vmcore}: ${
        output
          .split('\n')
          .find((l) => /crash:/.test(l))
          ?.trim() ?? ''
      }`,
      "Install a newer crash (or use the kdlab lab kernel, which is patched for Debian's crash 8.0.2).",
    );
  if (
    /(read error|seek error|invalid kernel virtual address|vmcore.*(truncated|incomplete)|not a supported file format|cannot read)/i.test(
      output,
    ) &&
    !/PANIC:/.test(output)
  )
    return new LabError(
      'BAD_REQUEST',
      `crash could not read ${vmcore}: ${output
        .split('\n')
        .filter((l) => /crash:|error/i.test(l))
        .slice(0, 2)
        .join(' ')
        .trim()}`,
      'The dump is truncated or corrupt: capture it again.',
    );
  if (/do not match|vmlinux.*and.*vmcore.*not.*match/i.test(output))
    return new LabError(
      'BAD_REQUEST',
      `crash says vmlinux and ${vmcore} do not match.`,
      'Use the vmlinux from the same build.',
    );
  return null;
}

/** The argv of an interactive crash session on a checked pair (run under node-pty). */
export async function crashConsoleArgv(
  vmlinux: string,
  vmcore: string,
): Promise<{ argv: string[]; cwd: string }> {
  if (!findExecutable('crash'))
    throw new LabError('TOOL_MISSING', 'crash is not installed.', 'apt-get install -y crash');
  await checkPair(vmlinux, vmcore);
  return { argv: ['crash', vmlinux, vmcore], cwd: dirname(vmcore) };
}

export async function runCrashCommands(
  vmlinux: string,
  vmcore: string,
  list: readonly string[],
  signal?: AbortSignal,
): Promise<{ outputs: string[]; version: string | null; all: string }> {
  const input = `${list.map((c, i) => `!echo ${separator}-${i}\n${c}`).join('\n')}\n!echo ${separator}-end\nquit\n`;
  const r = await runCommand(['crash', '-s', vmlinux, vmcore], {
    input,
    timeoutMs: 300_000,
    ...(signal ? { signal } : {}),
    installHint: 'apt-get install -y crash',
  });
  const all = `${r.stdout}${r.stderr}`;
  if (!r.stdout.includes(`${separator}-0`)) {
    throw (
      explainCrashFailure(all, vmcore) ??
      new LabError('IO', `crash did not start on ${vmcore}:\n${all.trim().split('\n').slice(-6).join('\n')}`)
    );
  }
  const outputs = list.map((_c, i) => {
    const start = r.stdout.indexOf(`${separator}-${i}\n`);
    const end = r.stdout.indexOf(`${separator}-${i + 1 < list.length ? i + 1 : 'end'}`, start);
    return start < 0
      ? ''
      : r.stdout.slice(start + `${separator}-${i}\n`.length, end < 0 ? undefined : end).trimEnd();
  });
  const version = await runCommand(['crash', '--version'], { timeoutMs: 10_000 }).then(
    (v) => /crash (\d+\.\d+\.\d+)/.exec(v.stdout)?.[1] ?? null,
    () => null,
  );
  return { outputs, version, all };
}

export async function analyzeVmcore(
  input: { vmcore: string; vmlinux: string },
  progress: Progress,
  signal?: AbortSignal,
): Promise<CrashReport> {
  const { vmcore, vmlinux } = input;
  const reportFile = join(dirname(vmcore), 'report.json');
  const core = await stat(vmcore).catch(() => null);
  if (!core) throw new LabError('NOT_FOUND', `${vmcore} does not exist.`);
  const cached = JSON.parse(await readFile(reportFile, 'utf8').catch(() => 'null')) as
    (CrashReport & { inputs?: string }) | null;
  const inputsKey = `${vmlinux}:${(await stat(vmlinux).catch(() => null))?.mtimeMs ?? 0}:${core.size}:${core.mtimeMs}`;
  if (cached?.inputs === inputsKey) {
    progress.report({ fraction: 1, message: 'Report already made for this vmcore' });
    return cached;
  }
  progress.report({ fraction: 0.1, message: 'Checking that vmlinux and vmcore belong together' });
  await checkPair(vmlinux, vmcore);
  progress.report({ fraction: 0.3, message: `crash -s: ${commands.join(', ')}` });
  const { outputs, version } = await runCrashCommands(vmlinux, vmcore, commands, signal);
  const [sys, bt, log, ps, mod, modTaint] = outputs as [string, string, string, string, string, string];
  const backtrace = parseBacktrace(bt);
  let disassembly: string | null = null;
  const rip = backtrace.frames.find((f) => f.exception)?.exception?.registers.RIP;
  if (rip) {
    progress.report({ fraction: 0.8, message: 'Disassembling around the faulting instruction' });
    disassembly = (await runCrashCommands(vmlinux, vmcore, [`dis -l ${rip} 1`], signal)).outputs[0] ?? null;
  }
  const report: CrashReport = {
    vmcore,
    vmlinux,
    crashVersion: version,
    createdAt: new Date().toISOString(),
    // crash 8.0.2's sys stops after PANIC on these kernels: the task comes from bt's header then.
    summary: (() => {
      const summary = parseSys(sys);
      summary.pid ??= backtrace.pid;
      summary.command ??= backtrace.command;
      summary.task ??= backtrace.task;
      summary.cpu ??= backtrace.cpu;
      return summary;
    })(),
    backtrace,
    log: parseLog(log),
    processes: parsePs(ps),
    modules: parseModules(mod, modTaint),
    disassembly,
    raw: Object.fromEntries(commands.map((c, i) => [c, outputs[i] ?? ''])),
  };
  await writeJsonAtomic(reportFile, { ...report, inputs: inputsKey });
  progress.report({ fraction: 1, message: `Report: ${report.summary.panic ?? 'no panic string'}` });
  return report;
}

export { renderHtml, renderMarkdown } from './render';
