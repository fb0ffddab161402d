// Does KVM really work? /dev/kvm existing is not enough (on some hosts guests hang under it), so
// boot something for real with a timeout: a Linux kernel when one is at hand, which must print its
// banner and reach its (expected) "no root fs" panic; otherwise kdlab's own long-mode probe guest
// (lab-images/kvm-probe), which proves less and is reported as such.
import { constants } from 'node:fs';
import { access, readdir } from 'node:fs/promises';
import { join } from 'node:path';
import { findExecutable, runCommand } from '../process';

export type KvmVerdict = 'works' | 'hangs' | 'fails' | 'unavailable' | 'no-permission' | 'unconfirmed';

export interface KvmProbeResult {
  verdict: KvmVerdict;
  /** What was booted: a kernel path, or the probe guest. */
  probe: string | null;
  detail: string;
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
): { verdict: KvmVerdict; detail: string } {
  const banner = /Linux version \S+/.exec(output)?.[0] ?? null;
  const reachedEnd = /Kernel panic - not syncing|Run \/init|Freeing unused kernel/.test(output);
  if (banner && reachedEnd)
    return { verdict: 'works', detail: `booted ${banner.replace('Linux version ', '')} under KVM` };
  if (timedOut) {
    return {
      verdict: 'hangs',
      detail: banner
        ? `the kernel started (${banner}) but did not get through boot before the timeout`
        : 'the guest printed nothing before the timeout (it hangs under KVM)',
    };
  }
  return {
    verdict: 'fails',
    detail: banner ? 'the kernel stopped early under KVM' : 'QEMU exited without booting the kernel',
  };
}

export async function probeKvm(options: KvmProbeOptions = {}): Promise<KvmProbeResult> {
  const started = Date.now();
  const done = (verdict: KvmVerdict, probe: string | null, detail: string): KvmProbeResult => ({
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
    return done(
      'unavailable',
      null,
      `${device} does not exist (no hardware virtualization, or the kvm module is not loaded)`,
    );
  }
  if (
    !(await access(device, constants.R_OK | constants.W_OK).then(
      () => true,
      () => false,
    ))
  ) {
    return done('no-permission', null, `${device} exists but this user cannot open it`);
  }
  const qemu = options.qemu ?? findExecutable('qemu-system-x86_64');
  if (!qemu) return done('unconfirmed', null, 'qemu-system-x86_64 is missing, so KVM could not be tried');
  const timeoutMs = options.timeoutMs ?? 15_000;
  const kernel = (options.kernels ?? [])[0];
  if (kernel) {
    const run = await runCommand(kvmProbeArgv(qemu, { kernel, linux: true }), {
      timeoutMs,
      ...(options.signal ? { signal: options.signal } : {}),
    });
    const { verdict, detail } = classifyLinuxProbe(run.stdout, run.timedOut);
    return done(verdict, kernel, verdict === 'fails' ? `${detail}: ${firstLine(run.stderr)}` : detail);
  }
  if (!options.probeGuest) return done('unconfirmed', null, 'no kernel and no probe guest to boot');
  const run = await runCommand(kvmProbeArgv(qemu, { kernel: options.probeGuest, linux: false }), {
    timeoutMs,
    ...(options.signal ? { signal: options.signal } : {}),
  });
  if (run.stdout.includes(probeMarker)) {
    return done(
      'unconfirmed',
      options.probeGuest,
      'a minimal long-mode guest runs under KVM, but no Linux kernel was at hand to confirm a real boot; kdlab uses TCG until a lab kernel boots under KVM',
    );
  }
  return done(
    run.timedOut ? 'hangs' : 'fails',
    options.probeGuest,
    run.timedOut
      ? 'the probe guest hangs under KVM'
      : `the probe guest failed under KVM: ${firstLine(run.stderr)}`,
  );
}
