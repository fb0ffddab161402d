// kdlab analyze: checks that vmlinux and vmcore belong together before crash's long wait, runs
// crash non-interactively (`crash -s`, one process, commands separated by `!echo` markers), parses
// the output into a typed report stored beside the vmcore, and renders it as Markdown or HTML.
import type { FileHandle } from 'node:fs/promises';
import { open, readFile, stat } from 'node:fs/promises';
import { dirname, join } from 'node:path';
import { LabError } from '../../../common/errors';
import type { Progress } from '../../jobs';
import { readBuildId } from '../../kernel/kernel-builder';
import type { Executor } from '../../exec/executor';
import { hostExecutor } from '../../exec/host-executor';
import type { Workspace } from '../../workspace';
import { writeJsonAtomic } from '../../workspace';
import {
  crashWarnings,
  disassemblyCommand,
  parseBacktrace,
  parseBacktraces,
  parseLog,
  parseModules,
  parsePs,
  summarize,
} from './parsers';
import type { CrashReport } from './types';

const separator = 'KDLAB-CRASH-CMD';
export const crashCommands = ['sys', 'bt -l', 'bt -a', 'log -m', 'ps', 'mod', 'mod -t', 'sys -t'] as const;
/** Bumped when the report's shape changes, so stored reports are made again. */
const reportVersion = 3;

const truncated = (vmcore: string, size: number, needed: number, what: string) =>
  new LabError(
    'BAD_REQUEST',
    `${vmcore} is truncated: it is ${size} bytes but its header says ${what} reach byte ${needed}.`,
    'The copy was cut short (disk full, interrupted transfer): capture the vmcore again.',
  );

/** Reads `length` bytes at `position` (fewer at the end of the file). */
async function readAt(handle: FileHandle, position: number, length: number): Promise<Buffer> {
  const buffer = Buffer.alloc(length);
  const { bytesRead } = await handle.read(buffer, 0, length, position);
  return buffer.subarray(0, bytesRead);
}

const popcount = (b: number) => {
  let n = 0;
  for (let v = b; v; v >>= 1) n += v & 1;
  return n;
};

/**
 * makedumpfile's kdump-compressed layout (also QEMU's kdump-zlib): header block, sub-header with
 * the VMCOREINFO offset, two bitmaps, then one 24-byte page descriptor per dumped page. The last
 * descriptors say where the data must end, so a cut file is found without crash.
 */
async function readKdumpHeader(handle: FileHandle, vmcore: string, size: number) {
  const head = await readAt(handle, 0, 464);
  if (head.length < 464) throw truncated(vmcore, size, 464, 'the kdump header');
  const headerRelease = head.toString('latin1', 12 + 130, 12 + 195).replace(/\0.*$/s, '') || null;
  const blockSize = head.readInt32LE(428);
  const subHdrBlocks = head.readInt32LE(432);
  const bitmapBlocks = head.readUInt32LE(436);
  if (blockSize <= 0 || blockSize > 1 << 20 || subHdrBlocks < 0 || bitmapBlocks === 0)
    throw new LabError(
      'BAD_REQUEST',
      `${vmcore} has a corrupt kdump header (block size ${blockSize}, ${bitmapBlocks} bitmap blocks).`,
      'Capture the vmcore again.',
    );
  const sub = await readAt(handle, blockSize, 48);
  if (sub.length < 48) throw truncated(vmcore, size, blockSize + 48, 'the kdump sub-header');
  const infoOffset = Number(sub.readBigUInt64LE(32));
  const infoSize = Number(sub.readBigUInt64LE(40));
  let vmcoreinfo = '';
  if (infoSize > 0 && infoSize < 1 << 20) {
    if (infoOffset + infoSize > size) throw truncated(vmcore, size, infoOffset + infoSize, 'VMCOREINFO must');
    vmcoreinfo = (await readAt(handle, infoOffset, infoSize)).toString('latin1');
  }
  // The second bitmap (dumpable pages) is the latter half of the bitmap blocks.
  const bitmapStart = blockSize * (1 + subHdrBlocks);
  const half = (bitmapBlocks * blockSize) / 2;
  const bitmapEnd = bitmapStart + bitmapBlocks * blockSize;
  if (bitmapEnd > size) throw truncated(vmcore, size, bitmapEnd, 'its bitmaps');
  const second = await readAt(handle, bitmapStart + half, half);
  let pages = 0;
  for (const byte of second) pages += popcount(byte);
  const descEnd = bitmapEnd + pages * 24;
  if (descEnd > size) throw truncated(vmcore, size, descEnd, `the descriptors of its ${pages} pages`);
  // Descriptors are in pfn order but data is not (makedumpfile writes in cycles): take the furthest.
  const descs = await readAt(handle, bitmapEnd, pages * 24);
  let dataEnd = 0;
  for (let at = 0; at + 24 <= descs.length; at += 24)
    dataEnd = Math.max(dataEnd, Number(descs.readBigUInt64LE(at)) + descs.readUInt32LE(at + 8));
  if (dataEnd > size) throw truncated(vmcore, size, dataEnd, 'its pages');
  return { vmcoreinfo, headerRelease };
}

/** ELF dumps (QEMU dump-guest-memory): VMCOREINFO in a PT_NOTE, memory in PT_LOAD segments. */
async function readElfDump(handle: FileHandle, vmcore: string, size: number) {
  const head = await readAt(handle, 0, 64);
  if (head.length < 64 || head[4] !== 2)
    throw new LabError(
      'BAD_REQUEST',
      `${vmcore} is not a 64-bit ELF dump (corrupt header).`,
      'Capture it again.',
    );
  const phoff = Number(head.readBigUInt64LE(32));
  const phentsize = head.readUInt16LE(54);
  const phnum = head.readUInt16LE(56);
  const table = await readAt(handle, phoff, phentsize * phnum);
  if (table.length < phentsize * phnum)
    throw truncated(vmcore, size, phoff + phentsize * phnum, 'its program headers');
  let vmcoreinfo = '';
  for (let i = 0; i < phnum; i += 1) {
    const type = table.readUInt32LE(i * phentsize);
    const offset = Number(table.readBigUInt64LE(i * phentsize + 8));
    const filesz = Number(table.readBigUInt64LE(i * phentsize + 32));
    if (offset + filesz > size) throw truncated(vmcore, size, offset + filesz, 'its segments');
    if (type === 4 && filesz < 1 << 24)
      vmcoreinfo += (await readAt(handle, offset, filesz)).toString('latin1');
  }
  return { vmcoreinfo, headerRelease: null };
}

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
      'Capture the vmcore again.',
    );
  const handle = await open(vmcore, 'r');
  try {
    const sig = (await readAt(handle, 0, 8)).toString('latin1');
    let parsed: { vmcoreinfo: string; headerRelease: string | null };
    let format: string;
    if (sig === 'KDUMP   ') {
      format = 'kdump-compressed';
      parsed = await readKdumpHeader(handle, vmcore, info.size);
    } else if (sig.startsWith('\x7fELF')) {
      format = 'elf';
      parsed = await readElfDump(handle, vmcore, info.size);
    } else if (sig.startsWith('makedump')) {
      // The flattened stream has no fixed layout: scan its beginning for VMCOREINFO.
      format = 'flattened';
      parsed = {
        vmcoreinfo: (await readAt(handle, 0, 16 * 1024 * 1024)).toString('latin1'),
        headerRelease: null,
      };
    } else
      throw new LabError(
        'BAD_REQUEST',
        `${vmcore} is not a vmcore: it starts with neither the KDUMP, ELF nor makedumpfile flattened signature (corrupt, or not a dump at all).`,
        'Capture it again; a vmcore made by makedumpfile or QEMU dump-guest-memory is expected.',
      );
    return {
      format,
      release: /OSRELEASE=([^\n\0]+)/.exec(parsed.vmcoreinfo)?.[1] ?? parsed.headerRelease,
      buildId: /BUILD-ID=([0-9a-f]+)/.exec(parsed.vmcoreinfo)?.[1] ?? null,
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
  executor: Executor = hostExecutor,
): Promise<{ release: string | null; buildId: string | null }> {
  if (!(await stat(vmlinux).catch(() => null))) throw new LabError('NOT_FOUND', `${vmlinux} does not exist.`);
  const core = await readVmcoreInfo(vmcore);
  const sections = await executor.run(['readelf', '-S', '-W', vmlinux], {
    timeoutMs: 30_000,
    inputs: [vmlinux],
  });
  if (sections.exitCode !== 0)
    throw new LabError(
      'BAD_REQUEST',
      `${vmlinux} is not an ELF kernel image (readelf: ${sections.stderr.trim()}).`,
      'Use the vmlinux from the kernel build, not bzImage.',
    );
  // Identity first: a vmlinux of another kernel is the bigger mistake, whatever its debug info.
  const release = await readVmlinuxRelease(vmlinux);
  const buildId = await readBuildId(vmlinux, executor);
  const releaseDiffers = core.release !== null && release !== null && core.release !== release;
  const idDiffers = core.buildId !== null && buildId !== null && core.buildId !== buildId;
  if (releaseDiffers || idDiffers)
    throw new LabError(
      'BAD_REQUEST',
      `vmlinux and vmcore do not belong together: the vmcore was written by ${core.release ?? 'an unknown release'} with build id ${core.buildId ?? 'unknown'}, and ${vmlinux} is ${release ?? 'an unknown release'} with build id ${buildId ?? 'unknown'}.`,
      'Use the vmlinux from the same build as the crashed kernel (kdlab vmcores show ID names it).',
    );
  if (!sections.stdout.includes('.debug_info'))
    throw new LabError(
      'BAD_REQUEST',
      `${vmlinux} has no debug information (.debug_info): crash cannot read structures or source lines without it.`,
      'Use the unstripped vmlinux of the build (CONFIG_DEBUG_INFO=y; kdlab keeps it in the kernels cache).',
    );
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
  if (!(await hostExecutor.which('crash')))
    throw new LabError('TOOL_MISSING', 'crash is not installed.', 'apt-get install -y crash');
  await checkPair(vmlinux, vmcore);
  return { argv: ['crash', vmlinux, vmcore], cwd: dirname(vmcore) };
}

const versions = new Map<string, Promise<string | null>>();
/** crash's version, asked once per process and executor (`crash --version` costs a few hundred ms). */
function crashVersion(executor: Executor): Promise<string | null> {
  const key = executor.cacheIdentity ?? 'host';
  let version = versions.get(key);
  if (!version) {
    version = executor.run(['crash', '--version'], { timeoutMs: 10_000 }).then(
      (v) => /crash (\d+\.\d+\.\d+)/.exec(v.stdout)?.[1] ?? null,
      () => null,
    );
    versions.set(key, version);
  }
  return version;
}

/**
 * One `crash -s` process fed on stdin. Each command is preceded by an `!echo` marker (crash flushes
 * its output before a shell escape, so the markers split it reliably). `followUp` sees the first
 * batch's outputs and may add commands to the same process (`dis -l` of the frames `bt` found),
 * which saves a second ~2 s crash start.
 */
export async function runCrashCommands(
  vmlinux: string,
  vmcore: string,
  list: readonly string[],
  signal?: AbortSignal,
  followUp?: (outputs: string[]) => string[],
  executor: Executor = hostExecutor,
): Promise<{ outputs: string[]; version: string | null; all: string }> {
  if (!(await executor.which('crash')))
    throw new LabError('TOOL_MISSING', 'crash is not installed.', 'apt-get install -y crash');
  if (signal?.aborted) throw new LabError('CANCELLED', 'crash was cancelled.');
  const batch = (cmds: readonly string[], from: number, end: string) =>
    `${cmds.map((c, i) => `!echo ${separator}-${from + i}\n${c}`).join('\n')}\n!echo ${separator}-${end}\n`;
  const split = (text: string, count: number, end: string) =>
    Array.from({ length: count }, (_c, i) => {
      const start = text.indexOf(`${separator}-${i}\n`);
      if (start < 0) return '';
      const next = text.indexOf(`${separator}-${i + 1 < count ? i + 1 : end}`, start);
      return text.slice(start + `${separator}-${i}\n`.length, next < 0 ? undefined : next).trimEnd();
    });
  const child = await executor.spawn(['crash', '-s', vmlinux, vmcore], {
    stdin: true,
    inputs: [vmlinux, vmcore],
    installHint: 'apt-get install -y crash',
  });
  let stdout = '';
  let stderr = '';
  let extra: string[] = [];
  const ended = new Promise<{ reason: 'exit' | 'timeout' | 'abort' }>((resolve) => {
    const timer = setTimeout(() => resolve({ reason: 'timeout' }), 300_000);
    const onAbort = () => resolve({ reason: 'abort' });
    signal?.addEventListener('abort', onAbort, { once: true });
    void child.wait().then(() => {
      clearTimeout(timer);
      signal?.removeEventListener('abort', onAbort);
      resolve({ reason: 'exit' });
    });
  });
  child.stdin?.on('error', () => undefined); // crash may exit before reading everything
  child.stderr.on('data', (c: Buffer) => (stderr += c.toString()));
  child.stdout.on('data', (c: Buffer) => {
    const before = stdout.includes(`${separator}-first`);
    stdout += c.toString();
    if (!before && stdout.includes(`${separator}-first\n`)) {
      extra = followUp ? followUp(split(stdout, list.length, 'first')) : [];
      child.stdin?.end(`${extra.length ? batch(extra, list.length, 'end') : ''}quit\n`);
    }
  });
  child.stdin?.write(batch(list, 0, 'first'));
  const { reason } = await ended;
  if (reason !== 'exit') {
    child.kill();
    if (reason === 'abort') throw new LabError('CANCELLED', 'crash was cancelled.');
    throw new LabError('TIMEOUT', `crash did not finish on ${vmcore} within 300 s.`);
  }
  const all = `${stdout}${stderr}`;
  if (!stdout.includes(`${separator}-0`)) {
    throw (
      explainCrashFailure(all, vmcore) ??
      new LabError('IO', `crash did not start on ${vmcore}:\n${all.trim().split('\n').slice(-6).join('\n')}`)
    );
  }
  const outputs = split(stdout, list.length, 'first');
  if (extra.length) {
    const rest = stdout.slice(stdout.indexOf(`${separator}-first\n`));
    outputs.push(
      ...extra.map((_c, k) => {
        const i = list.length + k;
        const start = rest.indexOf(`${separator}-${i}\n`);
        const next = rest.indexOf(`${separator}-${k + 1 < extra.length ? i + 1 : 'end'}`, start);
        return start < 0
          ? ''
          : rest.slice(start + `${separator}-${i}\n`.length, next < 0 ? undefined : next).trimEnd();
      }),
    );
  }
  const version = await crashVersion(executor);
  return { outputs, version, all };
}

/**
 * The vmlinux of a library vmcore: meta.json's `vmlinux`, or (older entries) the kernels cache entry
 * named by its kernelKey.
 */
export async function findVmlinux(vmcore: string, workspace?: Workspace): Promise<string> {
  const metaFile = join(dirname(vmcore), 'meta.json');
  const meta = JSON.parse(await readFile(metaFile, 'utf8').catch(() => 'null')) as {
    vmlinux?: string;
    kernelKey?: string;
  } | null;
  if (meta?.vmlinux) return meta.vmlinux;
  if (meta?.kernelKey && workspace)
    return join(workspace.cache('kernels').entryDir(meta.kernelKey), 'vmlinux');
  throw new LabError(
    'BAD_REQUEST',
    `${vmcore} is not a library vmcore (no ${meta ? 'vmlinux in its' : ''} meta.json): kdlab cannot tell which vmlinux goes with it.`,
    'Give the vmlinux of the crashed kernel (--vmlinux).',
  );
}

export async function analyzeVmcore(
  input: {
    vmcore: string;
    vmlinux?: string;
    workspace?: Workspace;
    /** false: run crash even when a stored report matches (benchmarks). */
    reuse?: boolean;
    /** Where readelf and crash run (default: the host). */
    executor?: Executor;
  },
  progress: Progress,
  signal?: AbortSignal,
): Promise<CrashReport> {
  const { vmcore } = input;
  const vmlinux = input.vmlinux ?? (await findVmlinux(vmcore, input.workspace));
  const reportFile = join(dirname(vmcore), 'report.json');
  const core = await stat(vmcore).catch(() => null);
  if (!core) throw new LabError('NOT_FOUND', `${vmcore} does not exist.`);
  const cached = JSON.parse(await readFile(reportFile, 'utf8').catch(() => 'null')) as
    (CrashReport & { inputs?: string }) | null;
  const linux = await stat(vmlinux).catch(() => null);
  const inputsKey = `v${reportVersion}:${vmlinux}:${linux?.size ?? 0}:${linux?.mtimeMs ?? 0}:${core.size}:${core.mtimeMs}`;
  if (cached?.inputs === inputsKey && input.reuse !== false) {
    progress.report({ fraction: 1, message: 'Report already made for this vmcore' });
    const { inputs: _inputs, ...report } = cached;
    return report;
  }
  progress.report({ fraction: 0.1, message: 'Checking that vmlinux and vmcore belong together' });
  const executor = input.executor ?? hostExecutor;
  await checkPair(vmlinux, vmcore, executor);
  progress.report({
    fraction: 0.3,
    message: `crash -s: ${crashCommands.join(', ')}${executor.kind === 'host' ? '' : ` (in ${executor.describe()})`}`,
  });
  let dis: string | null = null;
  const { outputs, version, all } = await runCrashCommands(
    vmlinux,
    vmcore,
    crashCommands,
    signal,
    (first) => {
      dis = disassemblyCommand(parseBacktrace(first[1] ?? ''));
      if (dis) progress.report({ fraction: 0.8, message: `Disassembling the faulting code (${dis})` });
      return dis ? [dis] : [];
    },
    executor,
  );
  const [sys, bt, btAll, log, ps, mod, modTaint, sysTaint, disText] = outputs as [
    string,
    string,
    string,
    string,
    string,
    string,
    string,
    string,
    string | undefined,
  ];
  const backtrace = parseBacktrace(bt);
  // The tail is what matters (the instructions up to the fault or the call); keep reports small.
  const disassembly = disText ? disText.split('\n').slice(-60).join('\n') : null;
  const logLines = parseLog(log);
  const report: CrashReport = {
    vmcore,
    vmlinux,
    crashVersion: version,
    createdAt: new Date().toISOString(),
    summary: summarize(sys, backtrace, logLines, sysTaint),
    backtrace,
    cpus: parseBacktraces(btAll),
    log: logLines,
    processes: parsePs(ps),
    modules: parseModules(mod, modTaint),
    disassembly,
    raw: Object.fromEntries([...crashCommands, ...(dis ? [dis] : [])].map((c, i) => [c, outputs[i] ?? ''])),
    warnings: crashWarnings(all),
    executor: executor.describe(),
  };
  await writeJsonAtomic(reportFile, { ...report, inputs: inputsKey });
  progress.report({
    fraction: 1,
    message: `Report: ${report.summary.headline ?? report.summary.panic ?? 'no panic string'}`,
  });
  return report;
}

export { renderHtml, renderMarkdown } from './render';
