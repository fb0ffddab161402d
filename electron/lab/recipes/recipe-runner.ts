// Runs a recipe step by step on the real pipeline. Each step's checks compare against facts of this
// run (the console, the decoded panic, the vmcore, crash and gdb output, the image contents);
// questions are right when they match the run's own facts. State is saved after every step, so a
// closed app resumes where it stopped; finished build/capture steps reuse cached artifacts.
import { RootfsBuilder } from '../image/rootfs';
import { recipeBaseLabel, recipeKernelSpec } from './recipe-kernel';
import { readFile, mkdir } from 'node:fs/promises';
import { hostname, userInfo } from 'node:os';
import { basename, dirname, join } from 'node:path';
import { LabError, toErrorData } from '../../common/errors';
import type { LabErrorData } from '../../common/errors';
import { analyzeVmcore } from '../analyze/crash/analyzer';
import { decodeText } from '../analyze/decoder';
import type { Executor, ExecutorKind } from '../exec/executor';
import { openExecutor } from '../exec/executor-settings';
import type { DecodedReport } from '../analyze/decoder';
import { locateUserFault } from '../analyze/user-fault';
import { runGdbBatch } from '../gdb/gdb-session';
import { ImageBuilder } from '../image/initramfs';
import type { InitramfsImage } from '../image/initramfs';
import type { InitTemplate } from '../image/init-templates';
import { ProgramBuilder } from '../image/programs';
import type { BuiltProgram } from '../image/programs';
import { subProgress } from '../jobs';
import type { Progress } from '../jobs';
import { KdumpCapture, KdumpLoadError } from '../kdump/kdump-capture';
import { KernelBuilder } from '../kernel/kernel-builder';
import type { KernelArtifacts } from '../kernel/kernel-builder';
import { ModuleBuilder } from '../kernel/module-builder';
import { VmRunner } from '../vm/vm-runner';
import type { RunningVm } from '../vm/vm-runner';
import type { Workspace } from '../workspace';
import { sha256File, writeJsonAtomic } from '../workspace';
import { packKernelFor } from './lab-pack';
import { programSpecs, recipeFile } from './recipe-loader';
import type { LoadedRecipe } from './recipe-loader';
import { faultOf, missingFact, parseSymbol, reportFacts, sameSymbol } from './recipe-facts';
import { locateKernelFault } from './fault-source';
import type { RecipeCheck, RecipeStep } from './recipe-schema';
import type { CheckResult, Facts, RecipeRunState, StepResult } from './recipe-state';

export type { CheckResult, Facts, RecipeRunState, StepResult };

export interface RunOptions {
  /** Answers questions from the run's own facts (CI). */
  nonInteractive: boolean;
  ask?: (question: string, stepId: string) => Promise<string>;
  restart?: boolean;
  language?: 'en' | 'zh-CN';
  onStep?: (step: RecipeStep, result: StepResult) => void;
  /** Before a step runs (live step-by-step views: the CLI's NDJSON, the Recipes view). */
  onStepStart?: (step: RecipeStep, index: number) => void;
  /** Where the steps run (a CLI flag): over the recipe's `executor`, which is over the workspace setting. */
  executor?: ExecutorKind;
  /** Who is running it (kdlab run --student, the Recipes view's field); the OS user name by default. */
  student?: string;
}

function osUserName(): string {
  try {
    return userInfo().username;
  } catch {
    return process.env.USER ?? process.env.LOGNAME ?? 'unknown';
  }
}

/** A fact as text: strings as they are, anything else as JSON. */
export function factText(value: unknown): string {
  if (value === undefined || value === null) return '';
  return typeof value === 'string' ? value : JSON.stringify(value);
}

/** Reads `decoded.callTrace[0].function`-style paths out of the facts. */
export function factAt(facts: Facts, path: string): unknown {
  let value: unknown = facts;
  for (const part of path.match(/[^.[\]]+/g) ?? []) {
    if (value === null || value === undefined || typeof value !== 'object') return undefined;
    value = (value as Record<string, unknown>)[part];
  }
  return value;
}

/** Answers compare as numbers when both read as numbers (0x7f00 = 0x00007f00 = 32512), else as words. */
export function sameAnswer(given: string, expected: unknown): boolean {
  const a = given.trim();
  const b = factText(expected).trim();
  const num = (s: string) =>
    /^0x[0-9a-f]+$/i.test(s) ? parseInt(s, 16) : /^-?\d+$/.test(s) ? Number(s) : null;
  const na = num(a);
  const nb = num(b);
  if (na !== null && nb !== null) return na === nb;
  // Code locations: kdlab_null_deref_init = kdlab_null_deref_init+0x1b/0x1000 = …+27 (see sameSymbol).
  const sa = parseSymbol(a);
  const sb = parseSymbol(b);
  if (sa && sb) return sameSymbol(sa, sb);
  return a.toLowerCase() === b.toLowerCase();
}

/** The console's last lines, for messages about what the guest did instead. */
function consoleTail(text: string, lines = 8): string {
  return text.replace(/\r/g, '').trimEnd().split('\n').slice(-lines).join('\n') || '(nothing)';
}

/** A step that waited for a pattern that never came: what it waited for and what the guest printed. */
function waitedInVain(seconds: number, pattern: string, consoleText: string, stopped: boolean): LabError {
  return new LabError(
    'TIMEOUT',
    `${stopped ? `The guest stopped before /${pattern}/ appeared` : `waited ${seconds} s for /${pattern}/`}; the console's last lines were:\n${consoleTail(consoleText)}`,
    stopped
      ? 'The guest panicked or exited first: read the console above, and the earlier steps that set it up.'
      : "Compare the pattern with the console above; if the guest is only slow (TCG on a busy machine), raise the step's timeout.",
  );
}

/** A size in MiB as a student writes it: 160, 160M, 160 MiB, 1G. */
export function parseMiB(text: string): number | null {
  const m = /^\s*(\d+(?:\.\d+)?)\s*(m|mb|mib|g|gb|gib)?\s*$/i.exec(text);
  if (!m) return null;
  return Number(m[1]) * (m[2]?.toLowerCase().startsWith('g') ? 1024 : 1);
}

/** gdb's `bt` lines (`#1  0x… in f (a=1) at file.c:12`, `#0  f () at …`) as frames. */
export function parseGdbBacktrace(
  output: string,
): { level: number; function: string; location: string | null }[] {
  const frames = [];
  for (const m of output.matchAll(/^#(\d+)\s+(?:0x[0-9a-f]+ in )?([\w.$]+) \(.*?\)(?: at (\S+))?/gim))
    frames.push({ level: Number(m[1]), function: m[2]!, location: m[3] ?? null });
  return frames;
}

export function evaluateCheck(check: RecipeCheck, facts: Facts, output: string): CheckResult {
  const text = (v: unknown) => (typeof v === 'string' ? v : JSON.stringify(v));
  if ('console' in check) {
    const ok = new RegExp(check.console, 'm').test(factText(facts.console));
    return {
      check,
      ok,
      detail: ok ? `console matches /${check.console}/` : `console does not show /${check.console}/`,
    };
  }
  if ('output' in check) {
    const ok = new RegExp(check.output, 'm').test(output);
    return {
      check,
      ok,
      detail: ok ? `output matches /${check.output}/` : `output does not show /${check.output}/`,
    };
  }
  if ('imageHas' in check || 'imageLacks' in check) {
    const paths = (factAt(facts, 'image.paths') as string[] | undefined) ?? [];
    const path = 'imageHas' in check ? check.imageHas : check.imageLacks;
    const has = paths.includes(path);
    const ok = 'imageHas' in check ? has : !has;
    return { check, ok, detail: `${path} is ${has ? '' : 'not '}in the image` };
  }
  const value = factAt(facts, check.fact);
  // null is a value (equals: null may test it); a fact the run never made fails, saying what it has.
  if (value === undefined) return { check, ok: false, detail: missingFact(facts, check.fact) };
  if ('equals' in check) {
    const ok = value === check.equals || sameAnswer(text(value), check.equals);
    return {
      check,
      ok,
      detail: `${check.fact} = ${text(value)}${ok ? '' : ` (expected ${text(check.equals)})`}`,
    };
  }
  const ok = value !== null && new RegExp(check.matches).test(text(value));
  return { check, ok, detail: `${check.fact} = ${text(value)}${ok ? '' : ` (expected /${check.matches}/)`}` };
}

export class RecipeRunner {
  readonly #images: ImageBuilder;
  readonly #vms: VmRunner;

  constructor(
    private readonly workspace: Workspace,
    private readonly kernels: KernelBuilder,
    /** lab-images/modules: what `lab:NAME` modules of a recipe refer to. */
    private readonly labModulesDir: string,
    /** Where kernel sources are looked for (Debian's linux-source tarballs). */
    private readonly sourcesDir = '/usr/src',
    /** The kernel builder for a container run (default: lab-images/kconfig, beside lab-images/modules). */
    private readonly kernelsIn: (executor: Executor) => KernelBuilder = (executor) =>
      new KernelBuilder(workspace, join(dirname(labModulesDir), 'kconfig'), executor),
  ) {
    this.#images = new ImageBuilder(workspace);
    this.#vms = new VmRunner(workspace);
  }

  stateFile(recipeId: string): string {
    return join(this.workspace.stateDir, 'recipes', `${recipeId}.json`);
  }

  async readState(recipeId: string): Promise<RecipeRunState | null> {
    const raw = await readFile(this.stateFile(recipeId), 'utf8').catch(() => null);
    return raw ? (JSON.parse(raw) as RecipeRunState) : null;
  }

  async run(
    loaded: LoadedRecipe,
    options: RunOptions,
    progress: Progress,
    signal: AbortSignal,
  ): Promise<RecipeRunState> {
    const recipe = loaded.recipe;
    const lang = options.language ?? 'en';
    await mkdir(join(this.workspace.stateDir, 'recipes'), { recursive: true });
    const saved = await this.readState(recipe.id);
    const previous = options.restart ? null : saved;
    const state: RecipeRunState =
      previous && !previous.finished
        ? previous
        : {
            recipeId: recipe.id,
            startedAt: new Date().toISOString(),
            updatedAt: '',
            finished: false,
            steps: [],
            artifacts: {},
            facts: {},
          };
    // For the teacher: who ran it, every answer ever given (a restart does not wipe wrong attempts),
    // and the recipe's content hash (checked against the lab pack when grading).
    const user = osUserName();
    state.student = { name: options.student?.trim() || user, user, host: hostname() };
    state.answerLog ??= [...(saved?.answerLog ?? [])];
    state.hashes = { ...state.hashes, recipe: await sha256File(loaded.file) };
    const save = async () => {
      state.updatedAt = new Date().toISOString();
      await writeJsonAtomic(this.stateFile(recipe.id), state);
    };

    // Resume: keep passed steps up to the first unfinished one; steps that need a live guest go back
    // to the boot that started it (a guest does not survive a closed app).
    const done = new Set(state.steps.filter((s) => s.status === 'passed').map((s) => s.id));
    let start = recipe.steps.findIndex((s) => !done.has(s.id));
    if (start < 0) start = recipe.steps.length;
    const needsVm = (s: RecipeStep) => s.do === 'send' || s.do === 'wait' || s.do === 'gdb';
    if (start < recipe.steps.length && needsVm(recipe.steps[start]!)) {
      for (let i = start; i >= 0; i -= 1)
        if (recipe.steps[i]!.do === 'boot') {
          start = i;
          break;
        }
    }
    state.steps = state.steps.filter((s) => recipe.steps.findIndex((r) => r.id === s.id) < start);

    const facts: Facts = { answers: {}, ...(start > 0 ? (state.facts ?? {}) : {}) };
    state.facts = facts;
    // One executor for the whole run; its containers go when the run ends, however it ends.
    const executor = await openExecutor(this.workspace, {
      executor: options.executor ?? recipe.executor,
      job: `recipe-${recipe.id}`,
    });
    facts.executor = executor.describe();
    const onHost = executor.kind === 'host';
    const kernels = onHost ? this.kernels : this.kernelsIn(executor);
    const images = onHost ? this.#images : new ImageBuilder(this.workspace, executor);
    const vms = onHost ? this.#vms : new VmRunner(this.workspace, executor);
    let kernel: KernelArtifacts | null = null;
    let image: InitramfsImage | null = null;
    // The ext4 rootfs made from that image, when the recipe boots from a disk (image.format: rootfs).
    let rootfs: string | null = null;
    const modules: string[] = [];
    /** Each built .ko → the folder of its sources (the analyze step reads the faulting line there). */
    const moduleDirs = new Map<string, string>();
    let programs: BuiltProgram[] | null = null;
    let vm: RunningVm | null = null;
    const useKernel = async (k: KernelArtifacts) => {
      kernel = k;
      facts.kernel = { release: k.manifest.kernelRelease, key: k.key, buildId: k.manifest.buildId };
      state.artifacts.kernel = k.key;
      // Content hashes: the cache key names the inputs, these say what was booted and analyzed.
      state.hashes = {
        ...state.hashes,
        'kernel/bzImage': await sha256File(k.bzImage),
        'kernel/vmlinux': await sha256File(k.vmlinux),
      };
      return k;
    };
    const ensureKernel = async (p: Progress) => {
      if (kernel) return kernel;
      // A recipe installed from a lab pack runs on the pack's kernel, kernel sources here or not:
      // building one (another gcc, another source release) would cost minutes and not be the kernel
      // the teacher handed out and grades against.
      const fromPack = await packKernelFor(this.workspace, loaded, this.kernels);
      if (fromPack) {
        p.log(
          `Using the kernel of the lab pack ${fromPack.pack}: ${fromPack.kernel.manifest.kernelRelease} (${fromPack.kernel.key}), no build.\n`,
        );
        return useKernel(fromPack.kernel);
      }
      const spec = await recipeKernelSpec(loaded, this.sourcesDir);
      if (!spec) {
        // A classroom machine with an imported lab pack: the kernel is there, built, without sources.
        const wanted = [
          ...(recipe.kernel.base === 'tinyconfig' ? ['tiny-x86_64'] : []),
          ...recipe.kernel.fragments,
        ];
        const packed = (await this.kernels.list()).find(
          (k) =>
            k.manifest.base === recipeBaseLabel(loaded) &&
            JSON.stringify(k.manifest.fragments) === JSON.stringify(wanted) &&
            JSON.stringify(k.manifest.extra) === JSON.stringify(recipe.kernel.set),
        );
        if (!packed)
          throw new LabError(
            'NOT_FOUND',
            'No kernel sources under /usr/src, and no built kernel for this recipe in the workspace.',
            'apt-get install -y linux-source-6.1, or import the lab pack your teacher gave you (kdlab lab import FILE).',
          );
        return useKernel(packed);
      }
      const built = await kernels.build(spec, p, signal);
      return useKernel(built);
    };
    const ensureModules = async (p: Progress) => {
      const k = await ensureKernel(p);
      if (modules.length || recipe.modules.length === 0) return modules;
      for (const rel of recipe.modules) {
        const dir = rel.startsWith('lab:')
          ? join(this.labModulesDir, rel.slice(4))
          : await recipeFile(loaded, rel);
        const built = await new ModuleBuilder(this.workspace, executor).build(k, dir, p, signal);
        modules.push(...built.map((m) => m.ko));
        for (const m of built) moduleDirs.set(m.ko, dir);
      }
      return modules;
    };
    const ensurePrograms = async (p: Progress) => {
      if (programs) return programs;
      programs = await new ProgramBuilder(this.workspace, executor).build(
        await programSpecs(loaded),
        p,
        signal,
      );
      facts.programs = programs.map((b) => ({
        name: b.name,
        path: b.path,
        file: b.file,
        libraries: b.libraries,
      }));
      return programs;
    };
    const ensureImage = async (p: Progress) => {
      if (image) return image;
      const k = await ensureKernel(p);
      const init = recipe.image.init;
      const template: InitTemplate =
        init === 'shell'
          ? { kind: 'shell' }
          : init === 'sysrq'
            ? { kind: 'sysrq-crash' }
            : 'exit' in init
              ? { kind: 'exit', code: init.exit }
              : { kind: 'script', text: await readFile(await recipeFile(loaded, init.script), 'utf8') };
      const built = await ensurePrograms(p);
      const imageSpec = {
        init: template,
        omitInit: recipe.image.omitInit,
        allowBroken: recipe.image.omitInit,
        modules: await ensureModules(p),
        files: built.map((b) => ({ source: b.file, path: b.path, mode: 0o755 })),
        // Their libraries and the loader, as tools: taken from where they were compiled and ldd
        // listed them (the host, or the lab image in Docker mode).
        tools: [...new Set(built.flatMap((b) => b.libraries))],
      };
      if (recipe.image.format === 'rootfs') {
        const disk = await new RootfsBuilder(this.workspace, images, executor).build(
          { ...imageSpec, extraMiB: recipe.image.extraMiB },
          k.genInitCpio,
          signal,
          p,
        );
        rootfs = disk.path;
        image = disk.content;
      } else {
        image = await images.buildInitramfs(imageSpec, k.genInitCpio, signal);
      }
      facts.image = { paths: image.entries.map((e) => e.path), init: image.init, checks: image.checks };
      state.artifacts.image = image.key;
      state.hashes = { ...state.hashes, image: await sha256File(rootfs ?? image.path) };
      return image;
    };
    const needVm = () => {
      if (!vm)
        throw new LabError('UNAVAILABLE', 'This step needs a running guest; the recipe must boot one first.');
      return vm;
    };

    try {
      for (let i = 0; i < recipe.steps.length; i += 1) {
        if (i < start) continue;
        const step = recipe.steps[i]!;
        const p = subProgress(
          progress,
          i / recipe.steps.length,
          (i + 1) / recipe.steps.length,
          `${step.title[lang]}: `,
        );
        // Announced before its first progress report, so listeners know which step it belongs to.
        options.onStepStart?.(step, i);
        p.report({ fraction: 0, message: step.title[lang] });
        const startedAt = new Date().toISOString();
        let output = '';
        let answer: StepResult['answer'];
        let error: LabErrorData | undefined;
        try {
          switch (step.do) {
            case 'build':
              await ensureKernel(p);
              await ensureModules(p);
              await ensurePrograms(p);
              break;
            case 'image':
              await ensureImage(p);
              break;
            case 'boot': {
              vm?.stop();
              const k = await ensureKernel(p);
              const img = await ensureImage(p);
              vm = await vms.boot(
                {
                  kernel: k.bzImage,
                  ...(rootfs ? { rootfs } : { initrd: img.path }),
                  memoryMiB: recipe.vm.memoryMiB,
                  cpus: recipe.vm.cpus,
                  appendExtra: [...recipe.vm.append, ...step.append],
                  ...(recipe.vm.gdb || recipe.vm.paused ? { gdb: { port: 'next-free' as const } } : {}),
                  ...(recipe.vm.paused ? { paused: true } : {}),
                  markers: [{ name: 'until', pattern: step.until }],
                },
                signal,
              );
              facts.vm = { accel: vm.accel.accel, gdbPort: vm.gdbPort };
              const running = vm;
              // A panic ends the wait too (the checks decide whether it was the expected one).
              const missed = recipe.vm.paused
                ? null
                : await running
                    .waitFor(
                      (m) => (m.kind === 'marker' && m.detail === 'until') || m.kind === 'panic',
                      step.timeout * 1000,
                    )
                    .then(
                      () => null,
                      (e: unknown) => e,
                    );
              facts.console = running.consoleText;
              if (missed && !new RegExp(step.until, 'm').test(running.consoleText))
                throw waitedInVain(
                  step.timeout,
                  step.until,
                  running.consoleText,
                  !(missed instanceof LabError && missed.code === 'TIMEOUT'),
                );
              break;
            }
            case 'send':
              needVm().sendKeys(step.text.replace(/\n/g, '\r'));
              await new Promise((r) => setTimeout(r, 300));
              facts.console = needVm().consoleText;
              break;
            case 'wait': {
              const running = needVm();
              const pattern = new RegExp(step.pattern, 'm');
              const deadline = Date.now() + step.timeout * 1000;
              let exited = false;
              void running.exited.then(() => (exited = true));
              while (!pattern.test(running.consoleText) && Date.now() < deadline && !exited)
                await new Promise((r) => setTimeout(r, 50));
              await new Promise((r) => setTimeout(r, 100));
              facts.console = running.consoleText;
              if (!pattern.test(running.consoleText))
                throw waitedInVain(step.timeout, step.pattern, running.consoleText, exited);
              break;
            }
            case 'capture': {
              vm?.stop();
              vm = null;
              const k = await ensureKernel(p);
              const trigger =
                step.trigger === 'sysrq'
                  ? { kind: 'sysrq' as const }
                  : 'init-exit' in step.trigger
                    ? { kind: 'init-exit' as const, code: step.trigger['init-exit'] }
                    : { kind: 'module' as const, file: step.trigger.module };
              // The size may be the student's answer to an earlier question (the crashkernel lab).
              let crashkernelMiB = typeof step.crashkernelMiB === 'number' ? step.crashkernelMiB : undefined;
              if (typeof step.crashkernelMiB === 'object') {
                const given = (facts.answers as Record<string, string> | undefined)?.[
                  step.crashkernelMiB.answer
                ];
                const mib = parseMiB(given ?? '');
                if (mib === null || mib < 8)
                  throw new LabError(
                    'BAD_REQUEST',
                    `The answer to "${step.crashkernelMiB.answer}" (${JSON.stringify(given ?? '')}) is not a size in MiB.`,
                    'Answer that question with a size such as 160 or 160M.',
                  );
                crashkernelMiB = Math.ceil(mib);
                output = `crashkernel=${crashkernelMiB}M\n`;
              }
              try {
                const entry = await new KdumpCapture(this.workspace, executor).capture(
                  {
                    kernel: k,
                    trigger,
                    ...(crashkernelMiB ? { crashkernelMiB } : {}),
                    ...(Object.keys(step.sysctl).length
                      ? {
                          sysctl: Object.fromEntries(
                            Object.entries(step.sysctl).map(([k, v]) => [k, String(v)]),
                          ),
                        }
                      : {}),
                    ...((await ensureModules(p)).length ? { modules } : {}),
                  },
                  p,
                  signal,
                );
                facts.vmcore = entry;
                facts.console = entry.consoleLog ? await readFile(entry.consoleLog, 'utf8') : '';
                state.artifacts.vmcore = entry.meta.id;
                state.hashes = { ...state.hashes, vmcore: await sha256File(entry.vmcore) };
              } catch (e) {
                // kexec's and the kernel's own words, and the advisor's size, for the step's checks.
                if (e instanceof KdumpLoadError) {
                  facts.console = e.consoleText;
                  facts.advisor = { crashkernelMiB: e.advice.mib, reasoning: e.advice.reasoning };
                }
                if (!step.expectFailure) throw e;
                facts.captureError = toErrorData(e);
                output = `${(e as Error).message}\n${(e as LabError).hint ?? ''}`;
              }
              break;
            }
            case 'crash': {
              const entry = facts.vmcore as { vmcore: string; meta: { vmlinux: string } } | undefined;
              if (!entry) throw new LabError('UNAVAILABLE', 'No vmcore yet: a capture step must come first.');
              const r = await executor.run(['crash', '-s', entry.meta.vmlinux, entry.vmcore], {
                input: `${step.commands.join('\n')}\nquit\n`,
                inputs: [entry.meta.vmlinux, entry.vmcore],
                timeoutMs: 180_000,
                signal,
                installHint: 'apt-get install -y crash',
              });
              output = `${r.stdout}${r.stderr}`;
              facts.crash = { output };
              break;
            }
            case 'gdb': {
              const running = needVm();
              const k = await ensureKernel(p);
              if (running.gdbPort === null)
                throw new LabError('UNAVAILABLE', 'The guest has no gdb stub: set vm.gdb in the recipe.');
              // The stub's port is whichever was free (1234 when it is): say which one this run used.
              output = `(gdb) target remote :${running.gdbPort}\n${
                (
                  await runGdbBatch(
                    { vmlinux: k.vmlinux, gdbScript: k.gdbScript, port: running.gdbPort },
                    step.commands,
                    { signal, executor },
                  )
                ).output
              }`;
              facts.gdb = { output, port: running.gdbPort, backtrace: parseGdbBacktrace(output) };
              break;
            }
            case 'analyze': {
              const entry = facts.vmcore as { vmcore: string; meta: { vmlinux: string } } | undefined;
              if (!entry)
                throw new LabError(
                  'UNAVAILABLE',
                  'No vmcore yet: a capture step must come first.',
                  'Add a capture step before the analyze step.',
                );
              // The analyzer's own report (cached beside the vmcore), not a second reading of crash.
              const report = await analyzeVmcore(
                { vmcore: entry.vmcore, vmlinux: entry.meta.vmlinux, workspace: this.workspace, executor },
                p,
                signal,
              );
              const found = faultOf(report);
              // The recipe's .ko files (built, or from the cache) hold the debug info of a module fault.
              if (found?.module && recipe.modules.length) await ensureModules(p);
              const fault = found
                ? await locateKernelFault(found, {
                    modules: moduleDirs,
                    vmlinux: entry.meta.vmlinux,
                    struct: step.struct,
                    executor,
                    signal,
                  })
                : null;
              facts.report = reportFacts(report, fault);
              output = [
                `${report.summary.headline ?? report.summary.panic ?? 'no panic string'}`,
                `task ${report.summary.command ?? '?'} (pid ${report.summary.pid ?? '?'}) on CPU ${report.summary.cpu ?? '?'}`,
                ...(fault
                  ? [
                      `faulting RIP: ${fault.rip}${fault.address ? `, fault address ${fault.address}` : ''}`,
                      ...(fault.line !== null
                        ? [
                            `at ${fault.sourceFile ?? '??'}:${fault.line}${fault.sourceText ? `: ${fault.sourceText}` : ''}`,
                          ]
                        : []),
                      ...(fault.member
                        ? [
                            `struct ${fault.member.struct} at +0x${fault.member.offset.toString(16)}: ${fault.member.declaration} (${fault.member.size} bytes)`,
                          ]
                        : []),
                    ]
                  : []),
                'backtrace:',
                ...report.backtrace.frames.map(
                  (f) =>
                    ` #${f.index} ${f.function}${f.module ? ` [${f.module}]` : ''}${f.exception ? `\n    [exception RIP: ${f.exception.rip}]` : ''}`,
                ),
                ...report.warnings.map((w) => `warning: ${w}`),
              ].join('\n');
              break;
            }
            case 'decode': {
              const reports = decodeText(factText(facts.console));
              facts.reports = reports;
              facts.decoded = reports[0] ?? null;
              output = reports.map((r) => `${r.kind}: ${r.title}\n${r.explanation.summary.en}`).join('\n\n');
              break;
            }
            case 'segfault': {
              const reports =
                (facts.reports as DecodedReport[] | undefined) ?? decodeText(factText(facts.console));
              const fault = reports.find((r) => r.userSegfault)?.userSegfault;
              if (!fault)
                throw new LabError(
                  'NOT_FOUND',
                  'The console shows no "segfault at … ip … in OBJECT[BASE+SIZE]" line.',
                  'The guest must run the faulting program first (a boot step that waits for the panic).',
                );
              const built = await ensurePrograms(p);
              const program = built.find((b) => b.name === fault.object || basename(b.path) === fault.object);
              if (!program)
                throw new LabError(
                  'NOT_FOUND',
                  `The fault is in ${fault.object ?? 'an unnamed mapping'}, which is not one of this recipe's programs (${built.map((b) => b.name).join(', ') || 'none'}).`,
                  'Only programs the recipe builds have a host copy with debug info to read.',
                );
              const sources = (recipe.programs.find((r) => r.name === program.name)?.sources ?? []).map(
                (rel) => join(loaded.dir, rel),
              );
              const located = await locateUserFault(fault, program.file, { sources, signal, executor });
              facts.segfault = located;
              output = [
                `${located.object}: ip ${located.ip} − base ${located.base} = offset ${located.offset} → address ${located.address} in the file`,
                `${located.function ?? '??'} at ${located.sourceFile ?? '??'}:${located.line ?? '?'}${located.sourceText ? `: ${located.sourceText}` : ''}`,
                located.disassembly,
              ].join('\n');
              break;
            }
            case 'question': {
              const expected = factAt(facts, step.answer.fact);
              if (expected === undefined)
                throw new LabError(
                  'NOT_FOUND',
                  `This question's answer is not in the run: ${missingFact(facts, step.answer.fact)}.`,
                  'The steps before it must make that fact (recipes/README.md lists which step makes which).',
                );
              const answeredBy = options.nonInteractive ? 'run' : 'student';
              const given = options.nonInteractive
                ? factText(expected)
                : await (options.ask ?? (() => Promise.resolve('')))(step.ask[lang], step.id);
              answer = {
                given,
                expected: factText(expected),
                ok:
                  expected !== undefined &&
                  (step.answer.compare === 'at-least'
                    ? (parseMiB(given) ?? -1) >= (parseMiB(factText(expected)) ?? Infinity)
                    : sameAnswer(given, expected)),
                answeredBy,
              };
              (facts.answers as Record<string, string>)[step.id] = given;
              (state.answerLog ??= []).push({
                step: step.id,
                given,
                ok: answer.ok,
                answeredBy,
                at: new Date().toISOString(),
              });
              break;
            }
          }
        } catch (e) {
          if (signal.aborted) throw e;
          error = toErrorData(e);
        }
        const checks = error ? [] : step.expect.map((c) => evaluateCheck(c, facts, output));
        const ok = !error && checks.every((c) => c.ok) && (answer?.ok ?? true);
        const result: StepResult = {
          id: step.id,
          do: step.do,
          status: error ? 'error' : ok ? 'passed' : 'failed',
          checks,
          ...(answer ? { answer } : {}),
          ...(error ? { error } : {}),
          // Its head (gdb's `target remote :PORT`, crash's sys) and its tail, within 4000 characters.
          ...(output
            ? {
                output: output.length > 4000 ? `${output.slice(0, 1000)}\n…\n${output.slice(-3000)}` : output,
              }
            : {}),
          startedAt,
          finishedAt: new Date().toISOString(),
        };
        state.steps.push(result);
        await save();
        options.onStep?.(step, result);
        if (!ok) break;
      }
      state.finished =
        state.steps.length === recipe.steps.length && state.steps.every((s) => s.status === 'passed');
      await save();
      return state;
    } finally {
      vm?.stop();
      await executor.dispose();
    }
  }
}
