// The `kdlab` command line. Every command runs on the same engine as the app (createLabBackend).
import { join } from 'node:path';
import { parseArgs } from 'node:util';
import { LabError } from '../common/errors';
import { cliLanguage } from '../common/local-text';
import type { TextLanguage } from '../common/local-text';
import type { DoctorReport } from '../common/types';
import { readAppVersion } from '../lab/app-root';
import { createLabBackend } from '../lab/lab-backend';
import { openExecutor, parseExecutorKind } from '../lab/exec/executor-settings';
import { KernelBuilder } from '../lab/kernel/kernel-builder';
import type { KernelBuildSpec } from '../lab/kernel/kernel-builder';
import { findSources } from '../lab/kernel/sources';
import { startWebServer } from '../server/web-server';
import { inboxDir } from '../lab/inbox';
import { findElectron, hasDisplay, launchElectron } from './electron-launcher';
import { list, showJobs, withBackend } from './command';
import type { CliContext, Command, OptionValues } from './command';
import { extraCommands } from './commands';

const statusMark: Record<string, string> = { ok: 'ok', warn: 'WARN', missing: 'MISSING', error: 'ERROR' };

export function formatDoctorReport(report: DoctorReport, lang: TextLanguage = 'en'): string {
  const lines: string[] = [];
  const h = report.host;
  lines.push(
    `Host: ${h.hostname} · ${h.distro} · kernel ${h.kernel} · ${h.arch} · ${h.cpus} CPUs · ${(h.memoryBytes / 1024 ** 3).toFixed(1)} GiB · ${h.isRoot ? 'root' : `user ${h.user}`}`,
  );
  lines.push('');
  // Column width in terminal cells: a Chinese character takes two.
  const cells = (text: string) => [...text].reduce((n, ch) => n + (/[\u2e80-\uffef]/.test(ch) ? 2 : 1), 0);
  const width = Math.max(...report.checks.map((c) => cells(c.title[lang])));
  for (const check of report.checks) {
    const version = check.version ? ` ${check.version}` : '';
    const title = check.title[lang];
    lines.push(
      `${statusMark[check.status]?.padEnd(8) ?? ''}${title}${' '.repeat(width - cells(title))} ${version ? `${version.trim()} — ` : ''}${check.detail[lang]}`,
    );
    if (check.fix && check.status !== 'ok')
      lines.push(`${' '.repeat(8 + width + 1)}${lang === 'en' ? 'fix' : '修复'}: ${check.fix[lang]}`);
  }
  const s = report.summary;
  lines.push('');
  lines.push(`${s.ok} ok, ${s.warn} warnings, ${s.missing} missing, ${s.error} errors`);
  return `${lines.join('\n')}\n`;
}

async function serve(values: OptionValues, ctx: Required<CliContext>, intro?: string): Promise<number> {
  const host = typeof values.host === 'string' ? values.host : '127.0.0.1';
  const port = typeof values.port === 'string' ? Number(values.port) : 0;
  if (!Number.isInteger(port) || port < 0 || port > 65535) {
    ctx.stderr.write(`kdlab serve: --port must be a number from 0 to 65535, not ${String(values.port)}\n`);
    return 2;
  }
  const backend = await createLabBackend({
    mode: 'web',
    version: readAppVersion(ctx.appRoot),
    appRoot: ctx.appRoot,
    ...(ctx.env.KDLAB_HOME ? { workspaceRoot: ctx.env.KDLAB_HOME } : {}),
  });
  let running;
  try {
    running = await startWebServer({
      backend,
      rendererDir: join(ctx.appRoot, 'dist', 'renderer'),
      host,
      port,
      allowRemote: values['allow-remote'] === true,
      uploads: { dir: inboxDir(backend.workspace) },
    });
  } catch (error) {
    await backend.dispose();
    const e = error as NodeJS.ErrnoException;
    if (e.code === 'EADDRINUSE') {
      ctx.stderr.write(
        `kdlab serve: port ${port} on ${host} is already in use. Pick another with --port, or omit it for a free one.\n`,
      );
      return 1;
    }
    ctx.stderr.write(`kdlab serve: ${e.message}\n`);
    return 1;
  }
  if (intro) ctx.stdout.write(`${intro}\n`);
  if (values['allow-remote'] === true && !['127.0.0.1', 'localhost', '::1'].includes(host)) {
    ctx.stderr.write(
      `kdlab: WARNING: listening on ${host}:${running.port} — anyone who can reach this address and has the token gets a shell on this machine.\n`,
    );
  }
  ctx.stdout.write(`kdlab web mode: ${running.url}\n`);
  ctx.stdout.write(`workspace: ${backend.workspace.root} · press Ctrl+C to stop\n`);
  await new Promise<void>((resolve) => {
    const stop = () => resolve();
    process.once('SIGINT', stop);
    process.once('SIGTERM', stop);
  });
  await running.close();
  await backend.dispose();
  return 0;
}

const serveOptions = {
  port: { type: 'string', short: 'p' },
  host: { type: 'string' },
  'allow-remote': { type: 'boolean' },
} as const;

const commands: Record<string, Command> = {
  serve: {
    summary: 'Serve the app to a browser on 127.0.0.1 (web mode)',
    usage:
      'kdlab serve [--port N] [--host ADDR --allow-remote]\n\n  Prints a URL with a one-time token; open it in a browser.\n  --port N        listen on N (default: a free port)\n  --host ADDR     bind ADDR (default 127.0.0.1); non-loopback needs --allow-remote\n  --allow-remote  allow a non-loopback address (prints a warning)',
    options: serveOptions,
    run: (values, ctx) => serve(values, ctx),
  },
  start: {
    summary: 'Open the desktop app (Electron), or the web mode where Electron cannot run',
    usage:
      'kdlab start [--port N]\n\n  Electron when its binary is installed and a display is available; otherwise the web mode.',
    options: serveOptions,
    async run(values, ctx) {
      const electron = findElectron(ctx.appRoot, ctx.env);
      if (electron.ok && hasDisplay(ctx.env)) return launchElectron(electron.binary, ctx.appRoot);
      const reason = electron.ok ? 'there is no display (DISPLAY/WAYLAND_DISPLAY unset)' : electron.reason;
      return serve(
        values,
        ctx,
        `kdlab: Electron cannot start here — ${reason}; starting the web mode instead.`,
      );
    },
  },
  doctor: {
    summary:
      'Check this host: QEMU, KVM (real boot probe), gdb, crash, kdump tools, toolchain, sources, Docker',
    usage:
      'kdlab doctor [--json] [--no-kvm-probe] [--lang en|zh-CN]\n\n  Runs every check for real and prints the fix command for each missing piece.\n  --lang L   language of the results (default: zh-CN when LC_ALL, LC_MESSAGES or LANG is Chinese,\n             else en); --json gives every language.\n  Exit status: 0 when nothing is missing or broken, 1 otherwise.',
    options: { json: { type: 'boolean' }, 'no-kvm-probe': { type: 'boolean' }, lang: { type: 'string' } },
    async run(values, ctx) {
      const lang = cliLanguage(typeof values.lang === 'string' ? values.lang : undefined, ctx.env);
      return withBackend(ctx, 'web', async (backend) => {
        const detach = values.json ? () => undefined : showJobs(backend, ctx.stderr);
        try {
          const report = await backend.jobs.withProgress(
            { title: 'Checking the host', kind: 'doctor' },
            (progress, signal) =>
              backend.doctor.run({ kvmProbe: values['no-kvm-probe'] !== true, signal }, progress),
          );
          ctx.stdout.write(
            values.json ? `${JSON.stringify(report, null, 2)}\n` : formatDoctorReport(report, lang),
          );
          return report.summary.missing + report.summary.error > 0 ? 1 : 0;
        } finally {
          detach();
        }
      });
    },
  },
  'kernel build': {
    summary: 'Build a debug-ready kernel (config verified option by option, cached)',
    usage: `kdlab kernel build [--source PATH|URL [--sha256 HASH]] [--base tinyconfig|defconfig|FILE] [--fragment NAME]… [--set NAME=VALUE]… [--optional NAME]… [--jobs N] [--no-lab-patches] [--json]

  --source PATH     kernel tree, tarball or https:// tarball URL (default: the newest linux-source under /usr/src)
  --sha256 HASH     the tarball's sha256, required with a URL
  --base B          tinyconfig (default), defconfig, or a .config file
  --fragment NAME   kgdb, kdump, debuginfo, qemu-virt, modules (default: all five); repeatable
  --set NAME=VALUE  an extra option, e.g. --set DEBUG_INFO_BTF=n; repeatable
  --optional NAME   an option that may be dropped without failing; repeatable
  --jobs N          make -jN (default: the number of CPUs)
  --no-lab-patches  do not apply kdlab's compatibility patches to the unpacked tree
  --executor E      host, or docker (make runs in the kdlab/toolchain container); default: the workspace setting`,
    options: {
      source: { type: 'string' },
      sha256: { type: 'string' },
      base: { type: 'string' },
      fragment: { type: 'string', multiple: true },
      set: { type: 'string', multiple: true },
      optional: { type: 'string', multiple: true },
      jobs: { type: 'string', short: 'j' },
      'no-lab-patches': { type: 'boolean' },
      executor: { type: 'string' },
      json: { type: 'boolean' },
    },
    async run(values, ctx) {
      const spec = await kernelSpecFromOptions(values);
      const kind = parseExecutorKind(
        typeof values.executor === 'string' ? values.executor : undefined,
        '--executor',
      );
      return withBackend(ctx, 'web', async (backend) => {
        const executor = await openExecutor(backend.workspace, { executor: kind, job: 'kernel-build' });
        const detach = values.json ? () => undefined : showJobs(backend, ctx.stderr);
        try {
          const builder =
            executor.kind === 'host'
              ? backend.kernels
              : new KernelBuilder(
                  backend.workspace,
                  join(backend.appRoot, 'lab-images', 'kconfig'),
                  executor,
                );
          const artifacts = await backend.jobs.withProgress(
            {
              title: `Building the kernel${executor.kind === 'host' ? '' : ` in ${executor.describe()}`}`,
              kind: 'kernel-build',
            },
            (progress, signal) => builder.build(spec, progress, signal),
          );
          if (values.json) ctx.stdout.write(`${JSON.stringify(artifacts, null, 2)}\n`);
          else {
            const m = artifacts.manifest;
            ctx.stdout.write(
              [
                `kernel ${m.kernelRelease}${artifacts.cacheHit ? ' (cache hit: make not run)' : ` built in ${Math.round(m.buildSeconds)} s`}`,
                `  bzImage   ${artifacts.bzImage}`,
                `  vmlinux   ${artifacts.vmlinux}  (build id ${m.buildId ?? 'none'})`,
                `  config    ${artifacts.config}  (${m.verification.checks.length} requested options verified)`,
                `  gdb       ${artifacts.gdbScript}`,
                `  modules   ${artifacts.modules.length}`,
                m.patches.length ? `  patches   ${m.patches.join(', ')}` : '',
                m.executor && m.executor !== 'host' ? `  built in  ${m.executor}` : '',
              ]
                .filter(Boolean)
                .join('\n') + '\n',
            );
          }
          return 0;
        } finally {
          detach();
          await executor.dispose();
        }
      });
    },
  },
  version: {
    summary: 'Print the kdlab version',
    usage: 'kdlab version',
    options: {},
    run: (_values, ctx) => {
      ctx.stdout.write(`kdlab ${readAppVersion(ctx.appRoot)}\n`);
      return Promise.resolve(0);
    },
  },
};

Object.assign(commands, extraCommands);

async function kernelSpecFromOptions(values: OptionValues): Promise<KernelBuildSpec> {
  let source = typeof values.source === 'string' ? values.source : null;
  if (!source) {
    const found = (await findSources()).filter((s) => s.kind === 'tarball' || s.kind === 'tree');
    const newest = found.at(-1);
    if (!newest) {
      throw new LabError(
        'NOT_FOUND',
        'No kernel source given and none found under /usr/src.',
        'apt-get install -y linux-source-6.1, or pass --source PATH',
      );
    }
    source = newest.path;
  }
  const base = typeof values.base === 'string' ? values.base : 'tinyconfig';
  const extra: Record<string, string> = {};
  for (const item of list(values.set)) {
    const match = /^(?:CONFIG_)?([A-Za-z0-9_]+)=(.*)$/.exec(item);
    if (!match)
      throw new LabError('BAD_REQUEST', `--set ${item}: expected NAME=VALUE, e.g. --set DEBUG_INFO_BTF=n`);
    extra[match[1]!] = match[2]!;
  }
  const jobs = typeof values.jobs === 'string' ? Number(values.jobs) : undefined;
  if (jobs !== undefined && (!Number.isInteger(jobs) || jobs < 1))
    throw new LabError('BAD_REQUEST', `--jobs must be a positive number, not ${String(values.jobs)}`);
  const fragments = list(values.fragment);
  return {
    source,
    ...(typeof values.sha256 === 'string' ? { sha256: values.sha256 } : {}),
    base: base === 'tinyconfig' || base === 'defconfig' ? base : { configFile: base },
    fragments: fragments.length > 0 ? fragments : ['kgdb', 'kdump', 'debuginfo', 'qemu-virt', 'modules'],
    extra,
    optional: list(values.optional).map((o) => o.replace(/^CONFIG_/, '')),
    ...(jobs !== undefined ? { jobs } : {}),
    labPatches: values['no-lab-patches'] !== true,
  };
}

function help(): string {
  const width = Math.max(...Object.keys(commands).map((n) => n.length));
  const list = Object.entries(commands)
    .map(([name, c]) => `  ${name.padEnd(width)}  ${c.summary}`)
    .join('\n');
  return `kdlab — a lab for Linux kernel debugging\n\nUsage: kdlab <command> [options]\n\nCommands:\n${list}\n\nRun kdlab <command> --help for a command's options.\n`;
}

export type { CliContext };

export async function main(argv: string[], context: CliContext): Promise<number> {
  const ctx: Required<CliContext> = {
    appRoot: context.appRoot,
    stdout: context.stdout ?? process.stdout,
    stderr: context.stderr ?? process.stderr,
    env: context.env ?? process.env,
  };
  // Two-word commands ("kernel build") before one-word ones.
  const twoWords = argv.length >= 2 ? `${argv[0]} ${argv[1]}` : '';
  const [name, ...rest] = commands[twoWords] ? [twoWords, ...argv.slice(2)] : argv;
  if (name === undefined || name === 'help' || name === '--help' || name === '-h') {
    ctx.stdout.write(help());
    return name === undefined ? 2 : 0;
  }
  if (name === '--version' || name === '-V') return commands.version!.run({}, ctx, []);
  const command = commands[name];
  if (!command) {
    ctx.stderr.write(`kdlab: unknown command ${JSON.stringify(name)}\n\n${help()}`);
    return 2;
  }
  let values: OptionValues;
  let positionals: string[];
  try {
    const parsed = parseArgs({
      args: rest,
      options: { ...command.options, help: { type: 'boolean', short: 'h' } },
      strict: true,
      allowPositionals: command.positionals === true,
    });
    values = parsed.values;
    positionals = parsed.positionals;
  } catch (error) {
    ctx.stderr.write(`kdlab ${name}: ${(error as Error).message}\n\nUsage: ${command.usage}\n`);
    return 2;
  }
  if (values.help) {
    ctx.stdout.write(`Usage: ${command.usage}\n`);
    return 0;
  }
  try {
    return await command.run(values, ctx, positionals);
  } catch (error) {
    if (error instanceof LabError) {
      ctx.stderr.write(`kdlab ${name}: ${error.message}${error.hint ? `\n  hint: ${error.hint}` : ''}\n`);
      return 1;
    }
    throw error;
  }
}
