// The doctor's checks. Each one runs the real thing (a tool's --version, a KVM boot, a Docker ping,
// a port bind) and says, when something is missing or broken, the exact command that fixes it.
// Titles, details and fixes are in English and Simplified Chinese (LocalText): Home shows the
// interface's language, the CLI English unless asked otherwise.
import { constants } from 'node:fs';
import { access, readdir, statfs } from 'node:fs/promises';
import { createServer } from 'node:net';
import { dirname, join } from 'node:path';
import { fmt, sameText } from '../../common/local-text';
import type { LocalText } from '../../common/local-text';
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
  dockerPing: () => Promise<{ ok: true; version: string } | { ok: false; reason: LocalText }>;
}

export interface CheckDefinition {
  id: string;
  title: LocalText;
  category: CheckCategory;
  run(ctx: CheckContext): Promise<Omit<DoctorCheck, 'id' | 'title' | 'category' | 'durationMs'>>;
}

type Outcome = Awaited<ReturnType<CheckDefinition['run']>>;

const install = (ctx: CheckContext, ...pieces: HostPiece[]): LocalText =>
  sameText(
    installCommand(
      pieces.map((p) => hostPackages[p]),
      ctx.isRoot,
    ),
  );

function outcome(
  status: CheckStatus,
  detail: LocalText,
  version: string | null = null,
  fix: LocalText | null = null,
): Outcome {
  return { status, detail, version, fix };
}

const L = (en: string, zh: string): LocalText => ({ en, 'zh-CN': zh });

/** The doctor's texts; `{name}` placeholders are filled by `fmt`. */
export const doctorTexts = {
  toolMissing: L('{command} not found: {purpose}', '找不到 {command}：{purpose}'),
  noVersion: L('{path} ran but printed no version we recognise', '{path} 能运行，但没有打印出可识别的版本号'),
  failedToRun: L('{path} failed to run: {error}', '{path} 运行失败：{error}'),
  headersMissing: L('{headers} not found: {purpose}', '找不到 {headers}：{purpose}'),
  busyboxMissing: L(
    'busybox not found: the initramfs userland (sh, mount, poweroff…)',
    '找不到 busybox：initramfs 的用户态工具（sh、mount、poweroff…）都靠它',
  ),
  notElf: L('{path} is not an ELF binary', '{path} 不是 ELF 可执行文件'),
  busyboxDynamic: L(
    '{path} is dynamically linked ({interpreter}); an initramfs needs the static build',
    '{path} 是动态链接的（{interpreter}）；initramfs 需要静态链接的版本',
  ),
  busyboxOk: L('{path} (static, {machine})', '{path}（静态链接，{machine}）'),
  kvmProbe: L(' (probe: {probe}, {seconds} s)', '（探测：{probe}，{seconds} 秒）'),
  kvmWorks: L('KVM works: {detail}{probe}', 'KVM 可用：{detail}{probe}'),
  kvmUnavailable: L(
    'KVM unavailable, guests run under TCG (slower): {detail}',
    'KVM 不可用，客户机在 TCG 下运行（较慢）：{detail}',
  ),
  kvmNoPermission: L(
    'KVM not usable, guests run under TCG: {detail}',
    'KVM 无法使用，客户机在 TCG 下运行：{detail}',
  ),
  kvmPermissionFix: L(
    'sudo usermod -aG kvm "$USER"  # then log in again',
    'sudo usermod -aG kvm "$USER"  # 然后重新登录',
  ),
  kvmUnconfirmed: L(
    'KVM not confirmed, kdlab uses TCG: {detail}{probe}',
    'KVM 未得到确认，kdlab 使用 TCG：{detail}{probe}',
  ),
  kvmBroken: L(
    '/dev/kvm exists but KVM does not work here, kdlab uses TCG: {detail}{probe}',
    '/dev/kvm 存在，但 KVM 在这台机器上不能正常工作，kdlab 使用 TCG：{detail}{probe}',
  ),
  kvmSkipped: L(
    'KVM probe skipped (--no-kvm-probe); kdlab uses TCG until it is probed',
    '已跳过 KVM 探测（--no-kvm-probe）；在探测之前 kdlab 使用 TCG',
  ),
  noSources: L(
    'no linux-source-* tarball or tree under {dir} (a local tree or a kernel.org tarball also works)',
    '{dir} 下没有 linux-source-* 源码包或源码树（本地源码树或 kernel.org 的源码包也可以）',
  ),
  dockerAnswers: L('engine answers ({endpoint})', '引擎有响应（{endpoint}）'),
  dockerMissing: L(
    'no Docker engine: {reason} (needed only for the Docker mode)',
    '没有 Docker 引擎：{reason}（只有 Docker 模式需要）',
  ),
  dockerNotAnswering: L(
    'Docker is installed but the engine does not answer: {reason} (needed only for the Docker mode)',
    'Docker 已安装，但引擎没有响应：{reason}（只有 Docker 模式需要）',
  ),
  diskFree: L('{free} free at {path}', '{path} 处可用 {free}'),
  diskTooLittle: L('{detail}: too little for a kernel build', '{detail}：不够构建一次内核'),
  diskTooLittleFix: L(
    'Free space, or set KDLAB_HOME to a larger disk',
    '清理磁盘空间，或把 KDLAB_HOME 设到更大的磁盘上',
  ),
  diskLow: L(
    '{detail}: enough for one small kernel build, little more',
    '{detail}：只够构建一次小内核，剩余不多',
  ),
  diskLowFix: L('Set KDLAB_HOME to a larger disk', '把 KDLAB_HOME 设到更大的磁盘上'),
  diskUnreadable: L('cannot read free space for {path}', '无法读取 {path} 的可用空间'),
  portFree: L(
    "tcp port {port} is free for QEMU's gdb stub (target remote :{port})",
    'TCP 端口 {port} 空闲，可供 QEMU 的 gdb stub 使用（target remote :{port}）',
  ),
  portInUse: L(
    'tcp port {port} is in use; kdlab will offer the next free port for the gdb stub',
    'TCP 端口 {port} 已被占用；kdlab 会为 gdb stub 提供下一个空闲端口',
  ),
  portFix: L(
    "ss -ltnp 'sport = :{port}'  # see which process holds it",
    "ss -ltnp 'sport = :{port}'  # 查看是哪个进程占用了它",
  ),
  checkFailed: L('the check itself failed: {error}', '检查本身失败了：{error}'),
} satisfies Record<string, LocalText>;

/** Check titles; tool names are the same in every language. */
export const checkTitles = {
  qemu: L('QEMU (x86_64)', 'QEMU（x86_64）'),
  kvm: L('KVM acceleration (real boot probe)', 'KVM 加速（真实启动探测）'),
  gdb: sameText('gdb'),
  'gdb-port': L('gdb stub port', 'gdb stub 端口'),
  crash: sameText('crash'),
  makedumpfile: sameText('makedumpfile'),
  kexec: sameText('kexec'),
  busybox: L('BusyBox (static)', 'BusyBox（静态链接）'),
  'mkfs-ext4': sameText('mkfs.ext4 / debugfs'),
  cpio: sameText('cpio'),
  gcc: sameText('gcc'),
  make: sameText('make'),
  flex: sameText('flex'),
  bison: sameText('bison'),
  bc: sameText('bc'),
  libelf: L('libelf headers', 'libelf 头文件'),
  openssl: L('OpenSSL headers', 'OpenSSL 头文件'),
  pahole: sameText('pahole'),
  'kernel-sources': L('Kernel sources', '内核源码'),
  docker: L('Docker engine', 'Docker 引擎'),
  disk: L('Free disk in the workspace', '工作区的可用磁盘空间'),
} satisfies Record<string, LocalText>;

/** What each tool is for, said when it is missing. */
export const toolPurposes = {
  qemu: L('boots the lab kernels', '用来启动实验内核'),
  gdb: L(
    "attaches to QEMU's gdb stub (target remote :1234)",
    '用来连接 QEMU 的 gdb stub（target remote :1234）',
  ),
  crash: L('analyzes vmcores', '用来分析 vmcore'),
  makedumpfile: L('writes the filtered vmcore in the capture kernel', '在捕获内核中写出过滤后的 vmcore'),
  kexec: L('loads the capture kernel (kexec -p)', '用来加载捕获内核（kexec -p）'),
  'mkfs-ext4': L(
    'builds ext4 rootfs and dump disks without root (mkfs.ext4 -d) and extracts vmcores (debugfs)',
    '无需 root 即可制作 ext4 根文件系统和转储磁盘（mkfs.ext4 -d），并提取 vmcore（debugfs）',
  ),
  cpio: L('lists initramfs contents', '用来列出 initramfs 的内容'),
  gcc: L('compiles the kernel and test modules', '用来编译内核和测试模块'),
  make: L('drives kbuild', 'kbuild 靠它驱动'),
  flex: L('kconfig needs it', 'kconfig 需要它'),
  bison: L('kconfig needs it', 'kconfig 需要它'),
  bc: L('kbuild computes timer constants with it', 'kbuild 用它计算定时器常量'),
  libelf: L('objtool needs them', 'objtool 需要它们'),
  openssl: L('module signing and sign-file need them', '模块签名和 sign-file 需要它们'),
  pahole: L('BTF generation (DEBUG_INFO_BTF) needs it', '生成 BTF（DEBUG_INFO_BTF）需要它'),
} satisfies Record<string, LocalText>;

const T = doctorTexts;

/** First capture of `pattern` in a tool's output. Exported for the table-driven tests. */
export function extractVersion(output: string, pattern: RegExp): string | null {
  const match = pattern.exec(output);
  return match?.[1]?.trim() ?? null;
}

interface ToolSpec {
  id: keyof typeof checkTitles & keyof typeof toolPurposes;
  category: CheckCategory;
  command: string;
  args: string[];
  version: RegExp;
  piece: HostPiece;
}

function toolCheck(spec: ToolSpec): CheckDefinition {
  return {
    id: spec.id,
    title: checkTitles[spec.id],
    category: spec.category,
    async run(ctx) {
      const path = findExecutable(spec.command, ctx.env);
      if (!path) {
        return outcome(
          'missing',
          fmt(T.toolMissing, { command: spec.command, purpose: toolPurposes[spec.id] }),
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
          return outcome('warn', fmt(T.noVersion, { path }), null, install(ctx, spec.piece));
        }
        return outcome('ok', sameText(path), version);
      } catch (error) {
        return outcome(
          'error',
          fmt(T.failedToRun, { path, error: (error as Error).message }),
          null,
          install(ctx, spec.piece),
        );
      }
    },
  };
}

function headerCheck(id: 'libelf' | 'openssl', headers: string[], piece: HostPiece): CheckDefinition {
  return {
    id,
    title: checkTitles[id],
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
          return outcome('ok', sameText(header), version);
        }
      }
      return outcome(
        'missing',
        fmt(T.headersMissing, { headers: headers.join(' / '), purpose: toolPurposes[id] }),
        null,
        install(ctx, piece),
      );
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
  title: checkTitles.busybox,
  category: 'image',
  async run(ctx) {
    const path =
      ['/bin/busybox', '/usr/bin/busybox'].find((p) => findExecutable(p, ctx.env)) ??
      findExecutable('busybox', ctx.env);
    if (!path) {
      return outcome('missing', T.busyboxMissing, null, install(ctx, 'busybox'));
    }
    const head = await readHead(path, 64 * 1024).catch(() => null);
    const elf = head ? parseElf(head) : null;
    const result = await runCommand([path], { timeoutMs: 5_000, env: ctx.env }).catch(() => null);
    const version = result ? extractVersion(`${result.stdout}${result.stderr}`, /BusyBox v(\S+)/) : null;
    if (!elf) return outcome('error', fmt(T.notElf, { path }), version, install(ctx, 'busybox'));
    if (elf.interpreter !== null) {
      return outcome(
        'warn',
        fmt(T.busyboxDynamic, { path, interpreter: elf.interpreter }),
        version,
        install(ctx, 'busybox'),
      );
    }
    return outcome('ok', fmt(T.busyboxOk, { path, machine: elf.machine }), version);
  },
};

export function describeKvm(result: KvmProbeResult, isRoot: boolean): Outcome {
  const probe = result.probe
    ? fmt(T.kvmProbe, { probe: result.probe, seconds: (result.durationMs / 1000).toFixed(1) })
    : sameText('');
  const detail = result.detail;
  switch (result.verdict) {
    case 'works':
      return outcome('ok', fmt(T.kvmWorks, { detail, probe }));
    case 'unavailable':
      return outcome(
        'warn',
        fmt(T.kvmUnavailable, { detail }),
        null,
        sameText(`${isRoot ? '' : 'sudo '}modprobe kvm_intel || ${isRoot ? '' : 'sudo '}modprobe kvm_amd`),
      );
    case 'no-permission':
      return outcome('warn', fmt(T.kvmNoPermission, { detail }), null, T.kvmPermissionFix);
    case 'unconfirmed':
      return outcome('warn', fmt(T.kvmUnconfirmed, { detail, probe }));
    case 'hangs':
    case 'fails':
      return outcome('warn', fmt(T.kvmBroken, { detail, probe }));
  }
}

const kvmCheck: CheckDefinition = {
  id: 'kvm',
  title: checkTitles.kvm,
  category: 'emulator',
  async run(ctx) {
    if (!ctx.kvm.enabled) return outcome('warn', T.kvmSkipped);
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
  title: checkTitles['kernel-sources'],
  category: 'sources',
  async run(ctx) {
    const names = await readdir(ctx.sourcesDir).catch(() => [] as string[]);
    const found = names.filter((n) => parseSourceName(n) !== null).sort();
    if (found.length === 0) {
      return outcome(
        'missing',
        fmt(T.noSources, { dir: ctx.sourcesDir }),
        null,
        install(ctx, 'kernelSource'),
      );
    }
    const versions = [...new Set(found.map((n) => parseSourceName(n)))].join(', ');
    return outcome('ok', sameText(found.map((n) => join(ctx.sourcesDir, n)).join(', ')), versions);
  },
};

const dockerCheck: CheckDefinition = {
  id: 'docker',
  title: checkTitles.docker,
  category: 'docker',
  async run(ctx) {
    const client = findExecutable('docker', ctx.env);
    const daemon = findExecutable('dockerd', ctx.env);
    const ping = await ctx.dockerPing();
    if (ping.ok)
      return outcome(
        'ok',
        fmt(T.dockerAnswers, { endpoint: ctx.env.DOCKER_HOST ?? 'unix:///var/run/docker.sock' }),
        ping.version,
      );
    if (!client && !daemon) {
      return outcome('missing', fmt(T.dockerMissing, { reason: ping.reason }), null, install(ctx, 'docker'));
    }
    const sudo = ctx.isRoot ? '' : 'sudo ';
    return outcome(
      'warn',
      fmt(T.dockerNotAnswering, { reason: ping.reason }),
      null,
      daemon
        ? sameText(`${sudo}systemctl start docker || (${sudo}dockerd >/var/log/dockerd.log 2>&1 &)`)
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
  title: checkTitles.disk,
  category: 'host',
  async run(ctx) {
    let dir = ctx.workspaceRoot;
    for (;;) {
      const stats = await statfs(dir).catch(() => null);
      if (stats) {
        const free = stats.bavail * stats.bsize;
        const detail = fmt(T.diskFree, { free: formatBytes(free), path: ctx.workspaceRoot });
        if (free < diskThresholds.errorBytes)
          return outcome('error', fmt(T.diskTooLittle, { detail }), null, T.diskTooLittleFix);
        if (free < diskThresholds.warnBytes)
          return outcome('warn', fmt(T.diskLow, { detail }), null, T.diskLowFix);
        return outcome('ok', detail, null);
      }
      const parent = dirname(dir);
      if (parent === dir) return outcome('error', fmt(T.diskUnreadable, { path: ctx.workspaceRoot }));
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
  title: checkTitles['gdb-port'],
  category: 'debugger',
  async run(ctx) {
    const port = ctx.gdbPort;
    if (await isPortFree(port)) return outcome('ok', fmt(T.portFree, { port }));
    return outcome('warn', fmt(T.portInUse, { port }), null, fmt(T.portFix, { port }));
  },
};

export const checkDefinitions: CheckDefinition[] = [
  toolCheck({
    id: 'qemu',
    category: 'emulator',
    command: 'qemu-system-x86_64',
    args: ['--version'],
    version: /QEMU emulator version (\S+)/,
    piece: 'qemu',
  }),
  kvmCheck,
  toolCheck({
    id: 'gdb',
    category: 'debugger',
    command: 'gdb',
    args: ['--version'],
    version: /^GNU gdb .*?(\d+(?:\.\d+)+)\s*$/m,
    piece: 'gdb',
  }),
  gdbPortCheck,
  toolCheck({
    id: 'crash',
    category: 'debugger',
    command: 'crash',
    args: ['--version'],
    version: /^crash (\S+)/m,
    piece: 'crash',
  }),
  toolCheck({
    id: 'makedumpfile',
    category: 'kdump',
    command: 'makedumpfile',
    args: ['-v'],
    version: /makedumpfile: version (\S+)/,
    piece: 'makedumpfile',
  }),
  toolCheck({
    id: 'kexec',
    category: 'kdump',
    command: 'kexec',
    args: ['--version'],
    version: /kexec-tools (\S+)/,
    piece: 'kexec',
  }),
  busyboxCheck,
  toolCheck({
    id: 'mkfs-ext4',
    category: 'image',
    command: 'mkfs.ext4',
    args: ['-V'],
    version: /mke2fs (\S+)/,
    piece: 'e2fsprogs',
  }),
  toolCheck({
    id: 'cpio',
    category: 'image',
    command: 'cpio',
    args: ['--version'],
    version: /cpio\)? (\d\S*)/,
    piece: 'cpio',
  }),
  toolCheck({
    id: 'gcc',
    category: 'toolchain',
    command: 'gcc',
    args: ['--version'],
    version: /^gcc .*?(\d+\.\d+\.\d+)/m,
    piece: 'gcc',
  }),
  toolCheck({
    id: 'make',
    category: 'toolchain',
    command: 'make',
    args: ['--version'],
    version: /GNU Make (\S+)/,
    piece: 'make',
  }),
  toolCheck({
    id: 'flex',
    category: 'toolchain',
    command: 'flex',
    args: ['--version'],
    version: /flex (\S+)/,
    piece: 'flex',
  }),
  toolCheck({
    id: 'bison',
    category: 'toolchain',
    command: 'bison',
    args: ['--version'],
    version: /bison \(GNU Bison\) (\S+)/,
    piece: 'bison',
  }),
  toolCheck({
    id: 'bc',
    category: 'toolchain',
    command: 'bc',
    args: ['--version'],
    version: /^bc (\S+)/m,
    piece: 'bc',
  }),
  headerCheck('libelf', ['/usr/include/gelf.h', '/usr/include/libelf.h'], 'libelf'),
  headerCheck('openssl', ['/usr/include/openssl/opensslv.h'], 'openssl'),
  toolCheck({
    id: 'pahole',
    category: 'toolchain',
    command: 'pahole',
    args: ['--version'],
    version: /v?(\d+\.\d+)/,
    piece: 'pahole',
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
    result = outcome('error', fmt(T.checkFailed, { error: (error as Error).message }));
  }
  return {
    id: definition.id,
    title: definition.title,
    category: definition.category,
    ...result,
    durationMs: Date.now() - started,
  };
}
