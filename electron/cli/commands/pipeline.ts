// The pipeline's commands: kernel list, image initramfs, boot, gdb, vmcores, run.
import { spawn } from 'node:child_process';
import { LabError } from '../../common/errors';
import { openExecutor, parseExecutorKind, readExecutorSettings } from '../../lab/exec/executor-settings';
import type { TerminalSource } from '../../lab/terminals/terminal-source';
import type { Executor } from '../../lab/exec/executor';
import { gdbArgv, openGdbTerminal, runGdbBatch } from '../../lab/gdb/gdb-session';
import { ImageBuilder } from '../../lab/image/initramfs';
import { KdumpCapture } from '../../lab/kdump/kdump-capture';
import { KernelBuilder } from '../../lab/kernel/kernel-builder';
import { VmRunner } from '../../lab/vm/vm-runner';
import { join } from 'node:path';
import type { InitTemplate } from '../../lab/image/init-templates';
import { initMarker } from '../../lab/image/init-templates';
import { RootfsBuilder } from '../../lab/image/rootfs';
import type { LabBackend } from '../../lab/lab-backend';
import type { KernelArtifacts } from '../../lab/kernel/kernel-builder';
import { ModuleBuilder } from '../../lab/kernel/module-builder';
import { loadPipeline } from '../../lab/pipeline/pipeline-file';
import { runCommand } from '../../lab/process';
import { runRecipe } from './recipes';
import { runPipeline } from '../../lab/pipeline/run-pipeline';
import type { Command, OptionValues } from '../command';
import { list, runJob, str, withBackend } from '../command';

const json = { type: 'boolean' } as const;
const kernelOption = { type: 'string', short: 'k' } as const;
const mib = (n: number) => `${(n / 1024 / 1024).toFixed(1)} MiB`;
const executorOption = { type: 'string' } as const;

/** --executor host|docker (default: the workspace setting), disposed when the command ends. */
async function withExecutor<T>(
  backend: LabBackend,
  values: OptionValues,
  job: string,
  body: (executor: Executor) => Promise<T>,
): Promise<T> {
  const kind = parseExecutorKind(str(values.executor), '--executor');
  const executor = await openExecutor(backend.workspace, { executor: kind, job });
  try {
    return await body(executor);
  } finally {
    await executor.dispose();
  }
}

/** A terminal source (gdb in a container) on this terminal: raw keys in, output out, resized with it. */
function attachTerminal(source: TerminalSource, stdout: NodeJS.WriteStream): Promise<number> {
  const stdin = process.stdin;
  const raw = stdin.isTTY;
  return new Promise<number>((resolve) => {
    const onKeys = (chunk: Buffer) => source.write(chunk.toString('utf8'));
    const onResize = () => source.resize(stdout.columns || 80, stdout.rows || 24);
    source.onData((chunk) => stdout.write(chunk));
    source.onExit((exit) => {
      stdin.off('data', onKeys);
      stdout.off('resize', onResize);
      if (raw) stdin.setRawMode(false);
      stdin.pause();
      resolve(exit.exitCode ?? 1);
    });
    if (raw) stdin.setRawMode(true);
    stdin.on('data', onKeys);
    stdin.resume();
    stdout.on('resize', onResize);
  });
}

function integer(values: OptionValues, name: string, min: number, max: number): number | undefined {
  const raw = str(values[name]);
  if (raw === undefined) return undefined;
  const n = Number(raw);
  if (!Number.isInteger(n) || n < min || n > max)
    throw new LabError('BAD_REQUEST', `--${name} must be a whole number from ${min} to ${max}, not ${raw}.`);
  return n;
}

/** --kernel KEY (a prefix is enough), or the newest built kernel. */
async function pickKernel(backend: LabBackend, values: OptionValues): Promise<KernelArtifacts> {
  const key = str(values.kernel);
  if (key) return backend.kernels.load(key);
  const newest = (await backend.kernels.list())[0];
  if (!newest)
    throw new LabError(
      'NOT_FOUND',
      'No kernel has been built yet.',
      'kdlab kernel build makes the lab kernel.',
    );
  return newest;
}

/** shell | sysrq | exit:N — the /init templates a user picks on the command line. */
export function parseInitOption(value: string | undefined): InitTemplate {
  if (value === undefined || value === 'shell') return { kind: 'shell' };
  if (value === 'sysrq') return { kind: 'sysrq-crash' };
  const exit = /^exit:(\d{1,3})$/.exec(value);
  if (exit && Number(exit[1]) <= 255) return { kind: 'exit', code: Number(exit[1]) };
  throw new LabError('BAD_REQUEST', `--init ${value}: expected shell, sysrq or exit:N (N from 0 to 255).`);
}

function print(ctx: { stdout: NodeJS.WriteStream }, values: OptionValues, data: unknown, text: string): void {
  ctx.stdout.write(
    values.json ? `${JSON.stringify(data, null, 2)}\n` : text.endsWith('\n') ? text : `${text}\n`,
  );
}

export const pipelineCommands: Record<string, Command> = {
  'kernel list': {
    summary: 'List the kernels built in the workspace',
    usage: 'kdlab kernel list [--json]',
    options: { json },
    run: (values, ctx) =>
      withBackend(ctx, 'web', async (backend) => {
        const kernels = await backend.kernels.list();
        print(
          ctx,
          values,
          kernels,
          kernels.length === 0
            ? 'No kernels built yet: kdlab kernel build'
            : kernels
                .map(
                  (k) =>
                    `${k.key.slice(0, 12)}  ${k.manifest.kernelRelease.padEnd(12)} ${k.manifest.base} + ${k.manifest.fragments.join(',')}  ${k.dir}`,
                )
                .join('\n'),
        );
        return 0;
      }),
  },
  'image initramfs': {
    summary: 'Pack a busybox initramfs (checked before boot) for a built kernel',
    usage: `kdlab image initramfs [--kernel KEY] [--init shell|sysrq|exit:N] [--binary PATH]… [--module KO]… [--file SRC:DEST]… [--json]

  --kernel KEY   the kernel whose gen_init_cpio packs it (default: the newest built)
  --init T       the /init template: shell (default), sysrq (crash at once), exit:N (init exits with N)
  --binary PATH  a host binary copied with its shared libraries (e.g. /usr/sbin/kexec); repeatable
  --module KO    a kernel module put under /lib/modules; repeatable
  --file S:D     a host file S put at D in the image; repeatable`,
    options: {
      kernel: kernelOption,
      init: { type: 'string' },
      binary: { type: 'string', multiple: true },
      module: { type: 'string', multiple: true },
      file: { type: 'string', multiple: true },
      json,
    },
    run: (values, ctx) =>
      withBackend(ctx, 'web', async (backend) => {
        const kernel = await pickKernel(backend, values);
        const files = list(values.file).map((f) => {
          const at = f.lastIndexOf(':');
          if (at <= 0 || !f.slice(at + 1).startsWith('/'))
            throw new LabError('BAD_REQUEST', `--file ${f}: expected SOURCE:/path/in/image.`);
          return { source: f.slice(0, at), path: f.slice(at + 1) };
        });
        const image = await runJob(
          backend,
          ctx,
          values.json === true,
          { title: 'Packing the initramfs', kind: 'image' },
          (_p, signal) =>
            backend.images.buildInitramfs(
              {
                init: parseInitOption(str(values.init)),
                binaries: list(values.binary),
                modules: list(values.module),
                files,
              },
              kernel.genInitCpio,
              signal,
            ),
        );
        const warnings = image.checks.filter((c) => !c.ok);
        print(
          ctx,
          values,
          image,
          [
            `initramfs ${image.path}`,
            `  ${mib(image.size)}, ${image.entries.length} entries${image.cacheHit ? ' (cache hit)' : ''}`,
            `  checks: ${warnings.length === 0 ? 'all passed' : warnings.map((w) => w.message.en).join('; ')}`,
          ].join('\n'),
        );
        return 0;
      }),
  },
  'image rootfs': {
    summary: 'Build an ext4 rootfs (mkfs.ext4 -d, no root needed) with the same content as the initramfs',
    usage: `kdlab image rootfs [--kernel KEY] [--init shell|sysrq|exit:N] [--binary PATH]… [--module KO]… [--extra-mib N] [--json]

  --extra-mib N  free space to add (e.g. room for a dump of the guest's memory)
  Boot it with kdlab boot --rootfs FILE (root=/dev/vda, in snapshot mode: the image is not changed).`,
    options: {
      kernel: kernelOption,
      init: { type: 'string' },
      binary: { type: 'string', multiple: true },
      module: { type: 'string', multiple: true },
      'extra-mib': { type: 'string' },
      json,
    },
    run: (values, ctx) =>
      withBackend(ctx, 'web', async (backend) => {
        const kernel = await pickKernel(backend, values);
        const extraMiB = integer(values, 'extra-mib', 0, 65536) ?? 0;
        const image = await runJob(
          backend,
          ctx,
          values.json === true,
          { title: 'Building the rootfs', kind: 'image' },
          (_p, signal) =>
            new RootfsBuilder(backend.workspace, backend.images).build(
              {
                init: parseInitOption(str(values.init)),
                binaries: list(values.binary),
                modules: list(values.module),
                extraMiB,
              },
              kernel.genInitCpio,
              signal,
            ),
        );
        print(
          ctx,
          values,
          image,
          `rootfs ${image.path}\n  ${mib(image.size)} ext4, ${image.content.entries.length} entries${image.cacheHit ? ' (cache hit)' : ''}\n  boot: kdlab boot --rootfs ${image.path}`,
        );
        return 0;
      }),
  },
  boot: {
    summary: 'Boot a built kernel under QEMU with its serial console here (gdb stub, crashkernel, -S)',
    usage: `kdlab boot [--kernel KEY] [--initrd FILE | --rootfs FILE | --init shell|sysrq|exit:N] [--memory MiB] [--cpus N] [--crashkernel MiB] [--gdb [--gdb-port N]] [--paused] [--accel auto|kvm|tcg] [--append ARG]… [--until PATTERN] [--timeout S] [--json]

  The guest's console is attached to this terminal; Ctrl-] powers the guest off.
  --gdb            start the gdb stub (port 1234, or --gdb-port N) and boot with nokaslr
  --paused         stop at the first instruction (-S) until gdb continues (implies --gdb)
  --until PATTERN  non-interactive: wait until the console matches PATTERN (a regular expression),
                   print the boot timeline and power off; exit 1 on timeout or an unexpected panic
  --timeout S      for --until (default 120)
  --executor E     host, or docker (QEMU in the kdlab/toolchain container); default: the workspace setting`,
    options: {
      kernel: kernelOption,
      initrd: { type: 'string' },
      rootfs: { type: 'string' },
      init: { type: 'string' },
      memory: { type: 'string', short: 'm' },
      cpus: { type: 'string' },
      crashkernel: { type: 'string' },
      gdb: { type: 'boolean' },
      'gdb-port': { type: 'string' },
      paused: { type: 'boolean', short: 'S' },
      accel: { type: 'string' },
      append: { type: 'string', multiple: true },
      until: { type: 'string' },
      timeout: { type: 'string' },
      executor: executorOption,
      json,
    },
    run: (values, ctx) =>
      withBackend(ctx, 'web', (backend) =>
        withExecutor(backend, values, 'boot', async (executor) => {
          const kernel = await pickKernel(backend, values);
          const images =
            executor.kind === 'host' ? backend.images : new ImageBuilder(backend.workspace, executor);
          const vmRunner =
            executor.kind === 'host' ? backend.vmRunner : new VmRunner(backend.workspace, executor);
          const accel = str(values.accel) ?? 'auto';
          if (!['auto', 'kvm', 'tcg'].includes(accel))
            throw new LabError('BAD_REQUEST', `--accel ${accel}: expected auto, kvm or tcg.`);
          const rootfs = str(values.rootfs);
          let initrd = str(values.initrd);
          if (!initrd && !rootfs) {
            const image = await images.buildInitramfs(
              { init: parseInitOption(str(values.init)) },
              kernel.genInitCpio,
            );
            initrd = image.path;
          }
          const gdbPort = integer(values, 'gdb-port', 1, 65535);
          const memoryMiB = integer(values, 'memory', 64, 65536);
          const cpus = integer(values, 'cpus', 1, 64);
          const crashkernelMiB = integer(values, 'crashkernel', 8, 4096);
          const until = str(values.until);
          const pattern = until !== undefined ? new RegExp(until) : null;
          const vm = await vmRunner.boot({
            kernel: kernel.bzImage,
            ...(initrd ? { initrd } : {}),
            ...(rootfs ? { rootfs } : {}),
            accel: accel as 'auto' | 'kvm' | 'tcg',
            ...(memoryMiB ? { memoryMiB } : {}),
            ...(cpus ? { cpus } : {}),
            ...(crashkernelMiB ? { crashkernelMiB } : {}),
            ...(values.gdb || values.paused ? { gdb: { port: gdbPort ?? 1234 } } : {}),
            ...(values.paused ? { paused: true } : {}),
            appendExtra: list(values.append),
            markers: [
              until !== undefined
                ? { name: 'until', pattern: until }
                : { name: 'init-ready', pattern: initMarker },
            ],
          });
          const header = [
            `kdlab boot: ${kernel.manifest.kernelRelease} on ${vm.accel.accel.toUpperCase()} — ${vm.accel.reason.en}`,
            vm.executor !== 'host' ? `QEMU runs in ${vm.executor}` : '',
            vm.gdbPort !== null
              ? `gdb stub on :${vm.gdbPort}${values.paused ? ' (paused at the first instruction)' : ''} — kdlab gdb --port ${vm.gdbPort}, or: gdb ${kernel.vmlinux} -ex 'target remote :${vm.gdbPort}'`
              : '',
            `console log: ${vm.runDir}/console.log`,
          ].filter(Boolean);
          if (pattern) {
            if (!values.json) ctx.stderr.write(`${header.join('\n')}\n`);
            const timeoutS = integer(values, 'timeout', 1, 3600) ?? 120;
            const hit = await vm
              .waitFor(
                (m) => (m.kind === 'marker' && m.detail === 'until') || m.kind === 'panic',
                timeoutS * 1000,
              )
              .catch((error: unknown) => error as LabError);
            await vm.powerOff();
            const ok = !(hit instanceof Error) && (hit.kind !== 'panic' || pattern.test(hit.line));
            const result = {
              ok,
              matched: hit instanceof Error ? null : hit.line,
              error: hit instanceof Error ? hit.message : null,
              accel: vm.accel,
              gdbPort: vm.gdbPort,
              runDir: vm.runDir,
              milestones: vm.milestones,
            };
            print(
              ctx,
              values,
              result,
              [
                ...vm.milestones.map(
                  (m) => `${(m.atMs / 1000).toFixed(2).padStart(7)} s  ${m.kind.padEnd(10)} ${m.line.trim()}`,
                ),
                ok
                  ? `matched: ${result.matched}`
                  : result.error
                    ? `not matched: ${result.error}`
                    : `not matched: the guest panicked first (${result.matched})`,
              ].join('\n'),
            );
            return ok ? 0 : 1;
          }
          ctx.stderr.write(`${header.join('\n')}\nCtrl-] powers the guest off.\n\n`);
          const stdin = process.stdin;
          const raw = stdin.isTTY;
          if (raw) stdin.setRawMode(true);
          vm.serial.onData((chunk) => ctx.stdout.write(chunk));
          const onInput = (data: Buffer) => {
            if (data.includes(0x1d)) void vm.powerOff();
            else vm.sendKeys(data.toString('utf8'));
          };
          stdin.on('data', onInput);
          stdin.resume();
          const exit = await vm.exited;
          stdin.off('data', onInput);
          if (raw) stdin.setRawMode(false);
          stdin.pause();
          const panic = vm.milestones.find((m) => m.kind === 'panic');
          ctx.stderr.write(
            `\nkdlab boot: QEMU exited${panic ? ` after a panic: ${panic.detail ?? ''}` : ''} (status ${exit.code ?? exit.signal}).\n`,
          );
          return 0;
        }),
      ),
  },
  gdb: {
    summary: "gdb on a guest's stub, with the kernel's lx- scripts loaded",
    usage: `kdlab gdb [--kernel KEY | --vmlinux FILE] [--port N] [--host H] [--batch CMD]… [--print-argv] [--json] [--executor host|docker]

  Runs gdb vmlinux with add-auto-load-safe-path for the build's vmlinux-gdb.py and target remote :PORT.
  --batch CMD    run CMD (repeatable) non-interactively and exit
  --print-argv   print the gdb command line instead of running it
  --executor E   host, or docker (gdb in the kdlab/toolchain container, on the network of the guest's
                 container when one publishes the port); default: the workspace setting`,
    options: {
      kernel: kernelOption,
      vmlinux: { type: 'string' },
      port: { type: 'string', short: 'p' },
      host: { type: 'string' },
      batch: { type: 'string', multiple: true },
      'print-argv': { type: 'boolean' },
      json,
      executor: executorOption,
    },
    run: (values, ctx) =>
      withBackend(ctx, 'web', async (backend) => {
        const vmlinux = str(values.vmlinux);
        const kernel = vmlinux ? null : await pickKernel(backend, values);
        const port = integer(values, 'port', 1, 65535) ?? 1234;
        const batch = list(values.batch);
        const target = {
          vmlinux: vmlinux ?? kernel!.vmlinux,
          gdbScript: kernel?.gdbScript ?? null,
          port,
          ...(str(values.host) ? { host: str(values.host)! } : {}),
        };
        const argv = gdbArgv(target, batch.length ? { batch } : {});
        if (values['print-argv']) {
          ctx.stdout.write(`${JSON.stringify(argv)}\n`);
          return 0;
        }
        const kind = parseExecutorKind(str(values.executor), '--executor');
        const inDocker = (kind ?? (await readExecutorSettings(backend.workspace)).executor) === 'docker';
        if (values.json) {
          // Scripts: run the batch commands and print what gdb said as data.
          if (batch.length === 0)
            throw new LabError('BAD_REQUEST', 'kdlab gdb --json needs --batch commands.');
          if (inDocker)
            return withExecutor(backend, values, 'gdb', async (executor) => {
              const r = await runGdbBatch(target, batch, { timeoutMs: 300_000, executor });
              ctx.stdout.write(
                `${JSON.stringify({ argv, executor: executor.describe(), exitCode: r.exitCode, output: r.output }, null, 2)}\n`,
              );
              return r.exitCode === 0 ? 0 : 1;
            });
          const r = await runCommand(argv, { timeoutMs: 300_000, installHint: 'apt-get install -y gdb' });
          ctx.stdout.write(
            `${JSON.stringify({ argv, exitCode: r.exitCode, output: `${r.stdout}${r.stderr}` }, null, 2)}\n`,
          );
          return r.exitCode === 0 ? 0 : 1;
        }
        if (inDocker)
          return withExecutor(backend, values, 'gdb', async (executor) => {
            ctx.stderr.write(`gdb runs in ${executor.describe()}\n`);
            const { source } = await openGdbTerminal(
              target,
              { cols: ctx.stdout.columns || 80, rows: ctx.stdout.rows || 24 },
              process.env,
              executor,
            );
            return attachTerminal(source, ctx.stdout);
          });
        return new Promise<number>((resolve) => {
          const child = spawn(argv[0]!, argv.slice(1), { stdio: 'inherit' });
          child.once('error', () => {
            ctx.stderr.write('kdlab gdb: gdb is not installed — apt-get install -y gdb\n');
            resolve(1);
          });
          child.once('exit', (code) => resolve(code ?? 1));
        });
      }),
  },
  vmcores: {
    summary: 'The vmcore library: list, show ID, rm ID',
    usage: 'kdlab vmcores [list | show ID | rm ID] [--json]',
    options: { json },
    positionals: true,
    run: (values, ctx, positionals) =>
      withBackend(ctx, 'web', async (backend) => {
        const [action = 'list', id] = positionals;
        if (action === 'list') {
          const entries = await backend.vmcores.list();
          print(
            ctx,
            values,
            entries,
            entries.length === 0
              ? 'The vmcore library is empty: kdlab run recipes/pipelines/sysrq-kdump.yaml captures one.'
              : entries
                  .map(
                    (e) =>
                      `${e.meta.id}  ${e.meta.kernelRelease}  ${e.meta.trigger.kind.padEnd(9)} ${(e.meta.method ?? 'kdump').padEnd(17)} -d ${e.meta.dumpLevel ?? '-'}  ${mib(e.meta.size).padStart(10)}  ${e.meta.panic ?? ''}`,
                  )
                  .join('\n'),
          );
          return 0;
        }
        if ((action === 'show' || action === 'rm') && id) {
          const entry = await backend.vmcores.get(id);
          if (action === 'rm') {
            await backend.vmcores.remove(id);
            print(ctx, values, { removed: id }, `removed ${entry.dir}`);
            return 0;
          }
          print(
            ctx,
            values,
            entry,
            [
              `vmcore   ${entry.vmcore} (${mib(entry.meta.size)}, ${entry.meta.guestMemoryMiB} MiB guest)`,
              `kernel   ${entry.meta.kernelRelease} (build id ${entry.meta.buildId ?? 'unknown'})`,
              `vmlinux  ${entry.meta.vmlinux ?? '(not recorded)'}`,
              `panic    ${entry.meta.panic ?? '(none seen)'}`,
              `trigger  ${entry.meta.trigger.kind}, captured ${entry.meta.createdAt}`,
              `console  ${entry.consoleLog ?? '(none)'}`,
              `capture  ${entry.captureDmesg ?? '(none)'}`,
            ].join('\n'),
          );
          return 0;
        }
        throw new LabError(
          'BAD_REQUEST',
          `kdlab vmcores ${positionals.join(' ')}: expected list, show ID or rm ID.`,
        );
      }),
  },
  run: {
    summary: 'Run a recipe (guided lab) by id, or a pipeline file: build → image → boot → trigger → capture',
    usage: `kdlab run RECIPE-ID [--student NAME] [--non-interactive] [--restart] [--json]
kdlab run PIPELINE.yaml [--json]

  A recipe runs step by step with its checks; --non-interactive answers its questions from the run's
  own facts (CI; also when stdin is not a terminal) and the progress report says the run answered
  them; --student NAME is who the report is for (default: your user name); the state is saved after
  each step and a second run resumes (--restart starts over). Each step's explanation is printed
  before it runs, in --lang en|zh-CN (default: zh-CN when LC_ALL, LC_MESSAGES or LANG is Chinese);
  with --json a recipe run prints NDJSON events as it goes (step-started, progress,
  step-passed/-failed/-error, summary).

  Example pipelines are in recipes/pipelines/. Prints progress and, at the end, where the vmcore
  and the logs are.
  --executor E  host, or docker (every step in the kdlab/toolchain container); default: a recipe's own
                executor:, else the workspace setting`,
    options: {
      json,
      'non-interactive': { type: 'boolean' },
      restart: { type: 'boolean' },
      student: { type: 'string' },
      lang: { type: 'string' },
      executor: executorOption,
    },
    positionals: true,
    run: async (values, ctx, positionals) => {
      if (positionals.length !== 1)
        throw new LabError(
          'BAD_REQUEST',
          'kdlab run needs one pipeline file, e.g. kdlab run recipes/pipelines/sysrq-kdump.yaml',
        );
      // A recipe id (no path separator, no .yaml): run the guided lab.
      if (/^[a-z0-9-]+$/.test(positionals[0]!))
        return withBackend(ctx, 'web', (backend) => runRecipe(backend, ctx, positionals[0]!, values));
      const loaded = await loadPipeline(positionals[0]!);
      return withBackend(ctx, 'web', (backend) =>
        withExecutor(backend, values, 'pipeline', async (executor) => {
          const onHost = executor.kind === 'host';
          const result = await runJob(
            backend,
            ctx,
            values.json === true,
            {
              title: `Pipeline ${positionals[0]!}${onHost ? '' : ` in ${executor.describe()}`}`,
              kind: 'pipeline',
            },
            (progress, signal) =>
              runPipeline(
                loaded,
                {
                  kernels: onHost
                    ? backend.kernels
                    : new KernelBuilder(
                        backend.workspace,
                        join(backend.appRoot, 'lab-images', 'kconfig'),
                        executor,
                      ),
                  capture: onHost ? backend.capture : new KdumpCapture(backend.workspace, executor),
                  buildModule: async (kernel, dir, p, s) => {
                    const built = await new ModuleBuilder(backend.workspace, executor).build(
                      kernel,
                      dir,
                      p,
                      s,
                    );
                    return built.map((m) => m.ko);
                  },
                },
                progress,
                signal,
              ),
          );
          const m = result.vmcore.meta;
          print(
            ctx,
            values,
            result,
            [
              `kernel   ${result.kernel.release}${result.kernel.cacheHit ? ' (cache hit)' : ''}  ${result.kernel.dir}`,
              `panic    ${m.panic ?? '(none seen)'}`,
              `vmcore   ${result.vmcore.vmcore}  (${mib(m.size)} of ${m.guestMemoryMiB} MiB, makedumpfile -d ${m.dumpLevel})`,
              `console  ${result.vmcore.consoleLog ?? ''}`,
              result.vmcore.captureDmesg ? `capture  ${result.vmcore.captureDmesg}` : '',
              `timing   boot→panic ${((m.timings.bootToPanicMs ?? 0) / 1000).toFixed(1)} s, panic→vmcore on host ${((m.timings.panicToHostMs ?? 0) / 1000).toFixed(1)} s`,
              `next     crash ${result.kernel.vmlinux} ${result.vmcore.vmcore}`,
              m.executor && m.executor !== 'host' ? `ran in   ${m.executor}` : '',
            ]
              .filter(Boolean)
              .join('\n'),
          );
          return 0;
        }),
      );
    },
  },
};
