// Does KVM really work? /dev/kvm existing is not enough (on some hosts guests hang under it), so
// boot something for real with a timeout: a Linux kernel when one is at hand, which must print its
// banner and reach its (expected) "no root fs" panic; otherwise kdlab's own long-mode probe guest
// (lab-images/kvm-probe), which proves less and is reported as such.
import { constants } from 'node:fs';
import { access, readdir } from 'node:fs/promises';
import { join } from 'node:path';
import { fmt } from '../../common/local-text';
import type { LocalText } from '../../common/local-text';
import { findExecutable, runCommand } from '../process';

export type KvmVerdict = 'works' | 'hangs' | 'fails' | 'unavailable' | 'no-permission' | 'unconfirmed';

export interface KvmProbeResult {
  verdict: KvmVerdict;
  /** What was booted: a kernel path, or the probe guest. */
  probe: string | null;
  /** Why, in every interface language (the doctor and the VMs view show it). */
  detail: LocalText;
  durationMs: number;
}

export interface KvmProbeOptions {
  qemu?: string;
  kvmDevice?: string;
  /** Linux kernels to try, in order; the first readable one is booted. */
  kernels?: string[];
  probeGuest?: string;
  timeoutMs?: number;
  signal?: AbortSignal;
}

const probeMarker = 'KDLAB-KVM-PROBE-OK';

const L = (en: string, zh: string): LocalText => ({ en, 'zh-CN': zh });

/** The probe's verdicts in words; `{name}` placeholders are filled by `fmt`. */
export const kvmProbeTexts = {
  booted: L('booted {release} under KVM', '在 KVM 下启动了 {release}'),
  startedButStuck: L(
    'the kernel started ({banner}) but did not get through boot before the timeout',
    '内核已启动（{banner}），但在超时之前没有完成启动',
  ),
  silent: L(
    'the guest printed nothing before the timeout (it hangs under KVM)',
    '客户机在超时之前没有任何输出（它在 KVM 下卡住了）',
  ),
  stoppedEarly: L('the kernel stopped early under KVM', '内核在 KVM 下过早停止了'),
  qemuExited: L('QEMU exited without booting the kernel', 'QEMU 没有启动内核就退出了'),
  withError: L('{detail}: {error}', '{detail}：{error}'),
  noDevice: L(
    '{device} does not exist (no hardware virtualization, or the kvm module is not loaded)',
    '{device} 不存在（没有硬件虚拟化，或者没有加载 kvm 模块）',
  ),
  noPermission: L('{device} exists but this user cannot open it', '{device} 存在，但当前用户无法打开它'),
  noQemu: L(
    'qemu-system-x86_64 is missing, so KVM could not be tried',
    '缺少 qemu-system-x86_64，所以无法试用 KVM',
  ),
  nothingToBoot: L('no kernel and no probe guest to boot', '既没有内核也没有探测客户机可供启动'),
  probeGuestOnly: L(
    'a minimal long-mode guest runs under KVM, but no Linux kernel was at hand to confirm a real boot; kdlab uses TCG until a lab kernel boots under KVM',
    '一个最小的长模式客户机能在 KVM 下运行，但手头没有 Linux 内核来确认真实启动；在实验内核能在 KVM 下启动之前，kdlab 使用 TCG',
  ),
  probeGuestHangs: L('the probe guest hangs under KVM', '探测客户机在 KVM 下卡住了'),
  probeGuestFails: L('the probe guest failed under KVM: {error}', '探测客户机在 KVM 下失败：{error}'),
} satisfies Record<string, LocalText>;
const T = kvmProbeTexts;

function firstLine(text: string): string {
  return text.trim().split('\n')[0]?.trim() ?? '';
}

/** Kernels worth booting for the probe: an explicit one, kdlab's own lab kernels, then the host's. */
export async function defaultProbeKernels(
  env: NodeJS.ProcessEnv = process.env,
  release?: string,
  workspaceRoot?: string,
): Promise<string[]> {
  const candidates: string[] = [];
  if (env.KDLAB_KVM_PROBE_KERNEL) candidates.push(env.KDLAB_KVM_PROBE_KERNEL);
  if (workspaceRoot) {
    const kernels = join(workspaceRoot, 'cache', 'kernels');
    for (const key of await readdir(kernels).catch(() => [] as string[])) {
      if (!key.startsWith('.')) candidates.push(join(kernels, key, 'bzImage'));
    }
  }
  if (release) candidates.push(`/boot/vmlinuz-${release}`);
  const boot = await readdir('/boot').catch(() => [] as string[]);
  for (const name of boot.sort().reverse())
    if (name.startsWith('vmlinuz-')) candidates.push(join('/boot', name));
  const readable: string[] = [];
  for (const candidate of [...new Set(candidates)]) {
    if (
      await access(candidate, constants.R_OK).then(
        () => true,
        () => false,
      )
    )
      readable.push(candidate);
  }
  return readable;
}

/** Builds the probe's QEMU command line (pure, so it is tested on its own). */
export function kvmProbeArgv(qemu: string, target: { kernel: string; linux: boolean }): string[] {
  const argv = [
    qemu,
    '-accel',
    'kvm',
    '-m',
    target.linux ? '256' : '32',
    '-nodefaults',
    '-display',
    'none',
    '-serial',
    'stdio',
    '-no-reboot',
    '-kernel',
    target.kernel,
  ];
  if (target.linux) argv.push('-append', 'console=ttyS0 panic=-1 loglevel=4');
  else argv.push('-device', 'isa-debug-exit,iobase=0x501,iosize=1');
  return argv;
}

export function classifyLinuxProbe(
  output: string,
  timedOut: boolean,
): { verdict: KvmVerdict; detail: LocalText } {
  const banner = /Linux version \S+/.exec(output)?.[0] ?? null;
  const reachedEnd = /Kernel panic - not syncing|Run \/init|Freeing unused kernel/.test(output);
  if (banner && reachedEnd)
    return { verdict: 'works', detail: fmt(T.booted, { release: banner.replace('Linux version ', '') }) };
  if (timedOut) {
    return {
      verdict: 'hangs',
      detail: banner ? fmt(T.startedButStuck, { banner }) : T.silent,
    };
  }
  return {
    verdict: 'fails',
    detail: banner ? T.stoppedEarly : T.qemuExited,
  };
}

export async function probeKvm(options: KvmProbeOptions = {}): Promise<KvmProbeResult> {
  const started = Date.now();
  const done = (verdict: KvmVerdict, probe: string | null, detail: LocalText): KvmProbeResult => ({
    verdict,
    probe,
    detail,
    durationMs: Date.now() - started,
  });
  const device = options.kvmDevice ?? '/dev/kvm';
  if (
    !(await access(device, constants.F_OK).then(
      () => true,
      () => false,
    ))
  ) {
    return done('unavailable', null, fmt(T.noDevice, { device }));
  }
  if (
    !(await access(device, constants.R_OK | constants.W_OK).then(
      () => true,
      () => false,
    ))
  ) {
    return done('no-permission', null, fmt(T.noPermission, { device }));
  }
  const qemu = options.qemu ?? findExecutable('qemu-system-x86_64');
  if (!qemu) return done('unconfirmed', null, T.noQemu);
  const timeoutMs = options.timeoutMs ?? 15_000;
  const kernel = (options.kernels ?? [])[0];
  if (kernel) {
    const run = await runCommand(kvmProbeArgv(qemu, { kernel, linux: true }), {
      timeoutMs,
      ...(options.signal ? { signal: options.signal } : {}),
    });
    const { verdict, detail } = classifyLinuxProbe(run.stdout, run.timedOut);
    return done(
      verdict,
      kernel,
      verdict === 'fails' ? fmt(T.withError, { detail, error: firstLine(run.stderr) }) : detail,
    );
  }
  if (!options.probeGuest) return done('unconfirmed', null, T.nothingToBoot);
  const run = await runCommand(kvmProbeArgv(qemu, { kernel: options.probeGuest, linux: false }), {
    timeoutMs,
    ...(options.signal ? { signal: options.signal } : {}),
  });
  if (run.stdout.includes(probeMarker)) {
    return done('unconfirmed', options.probeGuest, T.probeGuestOnly);
  }
  return done(
    run.timedOut ? 'hangs' : 'fails',
    options.probeGuest,
    run.timedOut ? T.probeGuestHangs : fmt(T.probeGuestFails, { error: firstLine(run.stderr) }),
  );
}
