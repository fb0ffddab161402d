// The doctor's checks. Each one runs the real thing (a tool's --version, a KVM boot, a Docker ping,
// a port bind) and says, when something is missing or broken, the exact command that fixes it.
import { constants } from 'node:fs';
import { access, readdir, statfs } from 'node:fs/promises';
import { createServer } from 'node:net';
import { dirname, join } from 'node:path';
import type { CheckCategory, CheckStatus, DoctorCheck } from '../../common/types';
import { findExecutable, runCommand } from '../process';
import { readHead } from '../read-head';
import { parseElf } from './elf';
import { hostPackages, installCommand } from './host-packages';
import type { HostPiece } from './host-packages';
import { probeKvm } from './kvm-probe';
import type { KvmProbeResult } from './kvm-probe';

export interface CheckContext {
  isRoot: boolean;
  env: NodeJS.ProcessEnv;
  workspaceRoot: string;
  signal?: AbortSignal;
  gdbPort: number;
  kvm: { enabled: boolean; kernels: string[]; probeGuest: string | null; timeoutMs: number };
  sourcesDir: string;
  dockerPing: () => Promise<{ ok: true; version: string } | { ok: false; reason: string }>;
}

export interface CheckDefinition {
  id: string;
  title: string;
  category: CheckCategory;
  run(ctx: CheckContext): Promise<Omit<DoctorCheck, 'id' | 'title' | 'category' | 'durationMs'>>;
}

type Outcome = Awaited<ReturnType<CheckDefinition['run']>>;

const install = (ctx: CheckContext, ...pieces: HostPiece[]) =>
  installCommand(
    pieces.map((p) => hostPackages[p]),
    ctx.isRoot,
  );

function outcome(
  status: CheckStatus,
  detail: string,
  version: string | null = null,
  fix: string | null = null,
): Outcome {
  return { status, detail, version, fix };
}

/** First capture of `pattern` in a tool's output. Exported for the table-driven tests. */
export function extractVersion(output: string, pattern: RegExp): string | null {
  const match = pattern.exec(output);
  return match?.[1]?.trim() ?? null;
}

interface ToolSpec {
  id: string;
  title: string;
  category: CheckCategory;
  command: string;
  args: string[];
  version: RegExp;
  piece: HostPiece;
  /** What the tool is for in the lab, said when it is missing. */
  purpose: string;
}

function toolCheck(spec: ToolSpec): CheckDefinition {
  return {
    id: spec.id,
    title: spec.title,
    category: spec.category,
    async run(ctx) {
      const path = findExecutable(spec.command, ctx.env);
      if (!path) {
        return outcome(
          'missing',
          `${spec.command} not found: ${spec.purpose}`,
          null,
          install(ctx, spec.piece),
        );
      }
      try {
        const result = await runCommand([path, ...spec.args], {
          timeoutMs: 10_000,
          env: ctx.env,
          ...(ctx.signal ? { signal: ctx.signal } : {}),
        });
        const version = extractVersion(`${result.stdout}\n${result.stderr}`, spec.version);
        if (version === null) {
          return outcome(
            'warn',
            `${path} ran but printed no version we recognise`,
            null,
            install(ctx, spec.piece),
          );
        }
        return outcome('ok', path, version);
      } catch (error) {
        return outcome(
          'error',
          `${path} failed to run: ${(error as Error).message}`,
          null,
          install(ctx, spec.piece),
        );
      }
    },
  };
}

function headerCheck(
  id: string,
  title: string,
  headers: string[],
  piece: HostPiece,
  purpose: string,
): CheckDefinition {
  return {
    id,
    title,
    category: 'toolchain',
    async run(ctx) {
      for (const header of headers) {
        if (
          await access(header, constants.R_OK).then(
            () => true,
            () => false,
          )
        ) {
          const version = await packageVersion(hostPackages[piece], ctx);
          return outcome('ok', header, version);
        }
      }
      return outcome('missing', `${headers.join(' / ')} not found: ${purpose}`, null, install(ctx, piece));
    },
  };
}

async function packageVersion(pkg: string, ctx: CheckContext): Promise<string | null> {
  if (!findExecutable('dpkg-query', ctx.env)) return null;
  try {
    const r = await runCommand(['dpkg-query', '-W', '-f=${Version}', pkg], {
      timeoutMs: 5_000,
      env: ctx.env,
    });
    return r.exitCode === 0 && r.stdout.trim() ? r.stdout.trim() : null;
  } catch {
    return null;
  }
}

const busyboxCheck: CheckDefinition = {
  id: 'busybox',
  title: 'BusyBox (static)',
  category: 'image',
  async run(ctx) {
    const path =
      ['/bin/busybox', '/usr/bin/busybox'].find((p) => findExecutable(p, ctx.env)) ??
      findExecutable('busybox', ctx.env);
    if (!path) {
      return outcome(
        'missing',
        'busybox not found: the initramfs userland (sh, mount, poweroff…)',
        null,
        install(ctx, 'busybox'),
      );
    }
    const head = await readHead(path, 64 * 1024).catch(() => null);
    const elf = head ? parseElf(head) : null;
    const result = await runCommand([path], { timeoutMs: 5_000, env: ctx.env }).catch(() => null);
    const version = result ? extractVersion(`${result.stdout}${result.stderr}`, /BusyBox v(\S+)/) : null;
    if (!elf) return outcome('error', `${path} is not an ELF binary`, version, install(ctx, 'busybox'));
    if (elf.interpreter !== null) {
      return outcome(
        'warn',
        `${path} is dynamically linked (${elf.interpreter}); an initramfs needs the static build`,
        version,
        install(ctx, 'busybox'),
      );
    }
    return outcome('ok', `${path} (static, ${elf.machine})`, version);
  },
};

export function describeKvm(result: KvmProbeResult, isRoot: boolean): Outcome {
  const probe = result.probe ? ` (probe: ${result.probe}, ${(result.durationMs / 1000).toFixed(1)} s)` : '';
  switch (result.verdict) {
    case 'works':
      return outcome('ok', `KVM works: ${result.detail}${probe}`);
    case 'unavailable':
      return outcome(
        'warn',
        `KVM unavailable, guests run under TCG (slower): ${result.detail}`,
        null,
        `${isRoot ? '' : 'sudo '}modprobe kvm_intel || ${isRoot ? '' : 'sudo '}modprobe kvm_amd`,
      );
    case 'no-permission':
      return outcome(
        'warn',
        `KVM not usable, guests run under TCG: ${result.detail}`,
        null,
        'sudo usermod -aG kvm "$USER"  # then log in again',
      );
    case 'unconfirmed':
      return outcome('warn', `KVM not confirmed, kdlab uses TCG: ${result.detail}${probe}`);
    case 'hangs':
    case 'fails':
      return outcome(
        'warn',
        `/dev/kvm exists but KVM does not work here, kdlab uses TCG: ${result.detail}${probe}`,
      );
  }
}

const kvmCheck: CheckDefinition = {
  id: 'kvm',
  title: 'KVM acceleration (real boot probe)',
  category: 'emulator',
  async run(ctx) {
    if (!ctx.kvm.enabled)
      return outcome('warn', 'KVM probe skipped (--no-kvm-probe); kdlab uses TCG until it is probed');
    const result = await probeKvm({
      kernels: ctx.kvm.kernels,
      timeoutMs: ctx.kvm.timeoutMs,
      ...(ctx.kvm.probeGuest ? { probeGuest: ctx.kvm.probeGuest } : {}),
      ...(ctx.signal ? { signal: ctx.signal } : {}),
    });
    return describeKvm(result, ctx.isRoot);
  },
};

export function parseSourceName(name: string): string | null {
  return /^linux-source-(\d+\.\d+(?:\.\d+)?)(?:\.tar\.(?:xz|bz2|gz))?$/.exec(name)?.[1] ?? null;
}

const kernelSourcesCheck: CheckDefinition = {
  id: 'kernel-sources',
  title: 'Kernel sources',
  category: 'sources',
  async run(ctx) {
    const names = await readdir(ctx.sourcesDir).catch(() => [] as string[]);
    const found = names.filter((n) => parseSourceName(n) !== null).sort();
    if (found.length === 0) {
      return outcome(
        'missing',
        `no linux-source-* tarball or tree under ${ctx.sourcesDir} (a local tree or a kernel.org tarball also works)`,
        null,
        install(ctx, 'kernelSource'),
      );
    }
    const versions = [...new Set(found.map((n) => parseSourceName(n)))].join(', ');
    return outcome('ok', found.map((n) => join(ctx.sourcesDir, n)).join(', '), versions);
  },
};

const dockerCheck: CheckDefinition = {
  id: 'docker',
  title: 'Docker engine',
  category: 'docker',
  async run(ctx) {
    const client = findExecutable('docker', ctx.env);
    const daemon = findExecutable('dockerd', ctx.env);
    const ping = await ctx.dockerPing();
    if (ping.ok)
      return outcome(
        'ok',
        `engine answers (${ctx.env.DOCKER_HOST ?? 'unix:///var/run/docker.sock'})`,
        ping.version,
      );
    if (!client && !daemon) {
      return outcome(
        'missing',
        `no Docker engine: ${ping.reason} (needed only for the Docker mode)`,
        null,
        install(ctx, 'docker'),
      );
    }
    const sudo = ctx.isRoot ? '' : 'sudo ';
    return outcome(
      'warn',
      `Docker is installed but the engine does not answer: ${ping.reason} (needed only for the Docker mode)`,
      null,
      daemon
        ? `${sudo}systemctl start docker || (${sudo}dockerd >/var/log/dockerd.log 2>&1 &)`
        : install(ctx, 'docker'),
    );
  },
};

export function formatBytes(bytes: number): string {
  const gib = bytes / 1024 ** 3;
  return gib >= 1 ? `${gib.toFixed(1)} GiB` : `${(bytes / 1024 ** 2).toFixed(0)} MiB`;
}

/** A debug-ready kernel build (O= tree, vmlinux with DWARF) takes a few GiB; vmcores add more. */
export const diskThresholds = { warnBytes: 10 * 1024 ** 3, errorBytes: 3 * 1024 ** 3 };

const diskCheck: CheckDefinition = {
  id: 'disk',
  title: 'Free disk in the workspace',
  category: 'host',
  async run(ctx) {
    let dir = ctx.workspaceRoot;
    for (;;) {
      const stats = await statfs(dir).catch(() => null);
      if (stats) {
        const free = stats.bavail * stats.bsize;
        const detail = `${formatBytes(free)} free at ${ctx.workspaceRoot}`;
        if (free < diskThresholds.errorBytes) {
          return outcome(
            'error',
            `${detail}: too little for a kernel build`,
            null,
            'Free space, or set KDLAB_HOME to a larger disk',
          );
        }
        if (free < diskThresholds.warnBytes) {
          return outcome(
            'warn',
            `${detail}: enough for one small kernel build, little more`,
            null,
            'Set KDLAB_HOME to a larger disk',
          );
        }
        return outcome('ok', detail, null);
      }
      const parent = dirname(dir);
      if (parent === dir) return outcome('error', `cannot read free space for ${ctx.workspaceRoot}`);
      dir = parent;
    }
  },
};

/** kdlab binds the gdb stub to 127.0.0.1, but a program listening on 0.0.0.0 takes the port too: check there. */
export function isPortFree(port: number, host = '0.0.0.0'): Promise<boolean> {
  return new Promise((resolve) => {
    const server = createServer();
    server.once('error', () => resolve(false));
    server.listen({ port, host, exclusive: true }, () => server.close(() => resolve(true)));
  });
}

const gdbPortCheck: CheckDefinition = {
  id: 'gdb-port',
  title: 'gdb stub port',
  category: 'debugger',
  async run(ctx) {
    const port = ctx.gdbPort;
    if (await isPortFree(port))
      return outcome('ok', `tcp port ${port} is free for QEMU's gdb stub (target remote :${port})`);
    return outcome(
      'warn',
      `tcp port ${port} is in use; kdlab will offer the next free port for the gdb stub`,
      null,
      `ss -ltnp 'sport = :${port}'  # see which process holds it`,
    );
  },
};

export const checkDefinitions: CheckDefinition[] = [
  toolCheck({
    id: 'qemu',
    title: 'QEMU (x86_64)',
    category: 'emulator',
    command: 'qemu-system-x86_64',
    args: ['--version'],
    version: /QEMU emulator version (\S+)/,
    piece: 'qemu',
    purpose: 'boots the lab kernels',
  }),
  kvmCheck,
  toolCheck({
    id: 'gdb',
    title: 'gdb',
    category: 'debugger',
    command: 'gdb',
    args: ['--version'],
    version: /^GNU gdb .*?(\d+(?:\.\d+)+)\s*$/m,
    piece: 'gdb',
    purpose: "attaches to QEMU's gdb stub (target remote :1234)",
  }),
  gdbPortCheck,
  toolCheck({
    id: 'crash',
    title: 'crash',
    category: 'debugger',
    command: 'crash',
    args: ['--version'],
    version: /^crash (\S+)/m,
    piece: 'crash',
    purpose: 'analyzes vmcores',
  }),
  toolCheck({
    id: 'makedumpfile',
    title: 'makedumpfile',
    category: 'kdump',
    command: 'makedumpfile',
    args: ['-v'],
    version: /makedumpfile: version (\S+)/,
    piece: 'makedumpfile',
    purpose: 'writes the filtered vmcore in the capture kernel',
  }),
  toolCheck({
    id: 'kexec',
    title: 'kexec',
    category: 'kdump',
    command: 'kexec',
    args: ['--version'],
    version: /kexec-tools (\S+)/,
    piece: 'kexec',
    purpose: 'loads the capture kernel (kexec -p)',
  }),
  busyboxCheck,
  toolCheck({
    id: 'mkfs-ext4',
    title: 'mkfs.ext4 / debugfs',
    category: 'image',
    command: 'mkfs.ext4',
    args: ['-V'],
    version: /mke2fs (\S+)/,
    piece: 'e2fsprogs',
    purpose: 'builds ext4 rootfs and dump disks without root (mkfs.ext4 -d) and extracts vmcores (debugfs)',
  }),
  toolCheck({
    id: 'cpio',
    title: 'cpio',
    category: 'image',
    command: 'cpio',
    args: ['--version'],
    version: /cpio\)? (\d\S*)/,
    piece: 'cpio',
    purpose: 'lists initramfs contents',
  }),
  toolCheck({
    id: 'gcc',
    title: 'gcc',
    category: 'toolchain',
    command: 'gcc',
    args: ['--version'],
    version: /^gcc .*?(\d+\.\d+\.\d+)/m,
    piece: 'gcc',
    purpose: 'compiles the kernel and test modules',
  }),
  toolCheck({
    id: 'make',
    title: 'make',
    category: 'toolchain',
    command: 'make',
    args: ['--version'],
    version: /GNU Make (\S+)/,
    piece: 'make',
    purpose: 'drives kbuild',
  }),
  toolCheck({
    id: 'flex',
    title: 'flex',
    category: 'toolchain',
    command: 'flex',
    args: ['--version'],
    version: /flex (\S+)/,
    piece: 'flex',
    purpose: 'kconfig needs it',
  }),
  toolCheck({
    id: 'bison',
    title: 'bison',
    category: 'toolchain',
    command: 'bison',
    args: ['--version'],
    version: /bison \(GNU Bison\) (\S+)/,
    piece: 'bison',
    purpose: 'kconfig needs it',
  }),
  toolCheck({
    id: 'bc',
    title: 'bc',
    category: 'toolchain',
    command: 'bc',
    args: ['--version'],
    version: /^bc (\S+)/m,
    piece: 'bc',
    purpose: 'kbuild computes timer constants with it',
  }),
  headerCheck(
    'libelf',
    'libelf headers',
    ['/usr/include/gelf.h', '/usr/include/libelf.h'],
    'libelf',
    'objtool needs them',
  ),
  headerCheck(
    'openssl',
    'OpenSSL headers',
    ['/usr/include/openssl/opensslv.h'],
    'openssl',
    'module signing and sign-file need them',
  ),
  toolCheck({
    id: 'pahole',
    title: 'pahole',
    category: 'toolchain',
    command: 'pahole',
    args: ['--version'],
    version: /v?(\d+\.\d+)/,
    piece: 'pahole',
    purpose: 'BTF generation (DEBUG_INFO_BTF) needs it',
  }),
  kernelSourcesCheck,
  dockerCheck,
  diskCheck,
];

export function installableFromDoctor(): string[] {
  return [...new Set(Object.values(hostPackages))];
}

export async function runCheck(definition: CheckDefinition, ctx: CheckContext): Promise<DoctorCheck> {
  const started = Date.now();
  let result: Outcome;
  try {
    result = await definition.run(ctx);
  } catch (error) {
    result = outcome('error', `the check itself failed: ${(error as Error).message}`);
  }
  return {
    id: definition.id,
    title: definition.title,
    category: definition.category,
    ...result,
    durationMs: Date.now() - started,
  };
}
