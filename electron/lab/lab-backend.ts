// The composition root of the engine: services built once, wired to the API handlers and events.
// Used by the Electron main process, the web mode and the CLI alike; never imports electron.
import { existsSync } from 'node:fs';
import { readFile, stat } from 'node:fs/promises';
import { basename, dirname, join } from 'node:path';
import { validateExternalUrl } from '../common/api';
import { LabError } from '../common/errors';
import type { ExecutorSettingsInfo } from '../common/api';
import type { AppInfo, KernelSummary, PackSummary } from '../common/types';
import { findAppRoot } from './app-root';
import { createDispatcher } from './dispatcher';
import type { ApiHandlers, Dispatch } from './dispatcher';
import { analyzeVmcore, checkPair } from './analyze/crash/analyzer';
import { decodeLog, decodeText } from './analyze/decoder';
import { Doctor } from './doctor/doctor';
import { openDockerEngine, resolveEngineAddress } from './docker/engine';
import type { Executor } from './exec/executor';
import { openExecutor, readExecutorSettings, writeExecutorSettings } from './exec/executor-settings';
import { disposeWithTerminal } from './exec/terminal-lease';
import { ensureLabImage, listKdlabImages, readLabImageManifest } from './docker/lab-images';
import { EventBus } from './event-bus';
import { JobManager } from './jobs';
import { ImageBuilder } from './image/initramfs';
import type { InitramfsImage } from './image/initramfs';
import { describePackedImage, listPackedImages, readInitramfs } from './image/image-listing';
import { RootfsBuilder } from './image/rootfs';
import { KdumpCapture } from './kdump/kdump-capture';
import { VmcoreLibrary } from './kdump/vmcore-library';
import { importVmcore, inspectVmcore } from './kdump/vmcore-import';
import { identifyFile, inboxDir, pruneInbox, requireKind } from './inbox';
import { LabPacks } from './recipes/lab-pack';
import type { PackManifest } from './recipes/lab-pack';
import { gradeReports, importedPacks, packSource, readPackManifest } from './recipes/grading';
import { KernelBuilder } from './kernel/kernel-builder';
import type { KernelArtifacts } from './kernel/kernel-builder';
import { findSources } from './kernel/sources';
import { RecipeCatalog } from './recipes/recipe-loader';
import { RecipeRunner } from './recipes/recipe-runner';
import { VmRunner } from './vm/vm-runner';
import { VmSessions } from './vm/vm-sessions';
import { TerminalService } from './terminals/terminal-service';
import type { SourceFactory } from './terminals/terminal-service';
import type { Progress } from './jobs';
import { Workspace, defaultWorkspaceRoot, isInside } from './workspace';

export interface LabBackendOptions {
  mode: 'electron' | 'web';
  version: string;
  workspaceRoot?: string;
  /** Called with an already validated https URL (Electron: shell.openExternal). */
  openExternal?: (url: URL) => Promise<void>;
  /** kdlab's install folder (dist/, lab-images/); found from the running script when omitted. */
  appRoot?: string;
  /** Terminal back ends; the host shell by default. */
  terminalFactory?: SourceFactory;
}

export interface LabBackend {
  readonly dispatch: Dispatch;
  readonly events: EventBus;
  readonly workspace: Workspace;
  readonly jobs: JobManager;
  readonly doctor: Doctor;
  readonly terminals: TerminalService;
  readonly kernels: KernelBuilder;
  readonly images: ImageBuilder;
  readonly vmRunner: VmRunner;
  readonly vms: VmSessions;
  readonly vmcores: VmcoreLibrary;
  readonly capture: KdumpCapture;
  readonly appRoot: string;
  dispose(): Promise<void>;
}

export async function createLabBackend(options: LabBackendOptions): Promise<LabBackend> {
  const workspace = await Workspace.open(options.workspaceRoot ?? defaultWorkspaceRoot());
  // Yesterday's uploads go; in the background, since nothing waits on it.
  void pruneInbox(workspace).catch(() => undefined);
  const appRoot = options.appRoot ?? findAppRoot();
  const events = new EventBus();
  const jobs = new JobManager({
    logDir: workspace.jobsDir,
    onUpdate: (job) => events.broadcast('job.updated', job),
    onLog: (id, text) => events.broadcast('job.log', { id, text }),
  });
  const probeGuest = join(appRoot, 'lab-images', 'kvm-probe', 'probe.elf');
  const doctor = new Doctor({
    workspaceRoot: workspace.root,
    stateDir: workspace.stateDir,
    probeGuest: existsSync(probeGuest) ? probeGuest : null,
  });
  const terminals = new TerminalService(
    {
      data: (owner, id, data) => events.sendTo(owner, 'terminal.data', { id, data }),
      exit: (owner, id, exit) => events.sendTo(owner, 'terminal.exit', { id, ...exit }),
    },
    options.terminalFactory,
  );

  const kconfigDir = join(appRoot, 'lab-images', 'kconfig');
  const kernels = new KernelBuilder(workspace, kconfigDir);
  const images = new ImageBuilder(workspace);
  const vmRunner = new VmRunner(workspace);
  const vms = new VmSessions(
    vmRunner,
    kernels,
    images,
    (info) => events.broadcast('vm.updated', info),
    workspace,
  );
  const vmcores = new VmcoreLibrary(workspace);
  const capture = new KdumpCapture(workspace);
  // Recipes imported from a lab pack first: a pack's recipe wins over a shipped one of the same id.
  const recipes = new RecipeCatalog([join(workspace.root, 'recipes'), join(appRoot, 'recipes')]);
  const recipeRunner = new RecipeRunner(workspace, kernels, join(appRoot, 'lab-images', 'modules'));
  const packs = new LabPacks(workspace, recipes, kernels, join(appRoot, 'lab-images', 'modules'));
  const packSummary = (path: string, m: PackManifest): PackSummary => ({
    path,
    createdAt: m.createdAt,
    recipes: m.recipes,
    kernels: m.kernels,
    modules: m.modules,
    files: Object.keys(m.files).length,
  });

  const appInfo: AppInfo = {
    name: 'kdlab',
    version: options.version,
    mode: options.mode,
    workspace: workspace.root,
    platform: `${process.platform}-${process.arch}`,
    node: process.versions.node,
  };

  // Every operation opens its own executor from the saved setting (Docker: the engine pinged, the
  // image pinned, leftovers of dead kdlab processes removed) and disposes it when done, so a changed
  // setting or a rebuilt image applies to the next operation and no container outlives its owner.
  const settingsInfo = async (): Promise<ExecutorSettingsInfo> => {
    const s = await readExecutorSettings(workspace);
    let effectiveEngine: string;
    try {
      effectiveEngine = resolveEngineAddress(s.dockerHost ? { host: s.dockerHost } : {}).endpoint;
    } catch {
      effectiveEngine = s.dockerHost ?? process.env.DOCKER_HOST ?? '';
    }
    return { executor: s.executor, image: s.image, engine: s.dockerHost, effectiveEngine };
  };
  /** The saved engine for docker.* (else DOCKER_HOST, else the local socket). */
  const savedEngine = async () => {
    const { dockerHost } = await readExecutorSettings(workspace);
    return openDockerEngine(dockerHost ? { host: dockerHost } : {});
  };
  /** " (Docker)" in a job's title when the saved setting sends it to a container. */
  const whereTitle = async () =>
    (await readExecutorSettings(workspace)).executor === 'docker' ? ' (Docker)' : '';
  // A job the UI shows: its title in every interface language, the English one as `title`.
  const titled = (en: string, zh: string) => ({ title: en, titleText: { en, 'zh-CN': zh } });
  const withExecutor = async <T>(
    job: string,
    progress: Progress,
    body: (executor: Executor) => Promise<T>,
  ): Promise<T> => {
    const executor = await openExecutor(workspace, { job });
    try {
      if (executor.kind !== 'host') progress.log(`Runs on: ${executor.describe()}\n`);
      return await body(executor);
    } finally {
      await executor.dispose();
    }
  };

  const vmcoreWithVmlinux = async (id: string) => {
    const entry = await vmcores.get(id);
    const vmlinux =
      entry.meta.vmlinux ?? join(workspace.cache('kernels').entryDir(entry.meta.kernelKey), 'vmlinux');
    return { vmcore: entry.vmcore, vmlinux };
  };

  /** A packed image as read back from the file, with where the builder took each file from. */
  const packedSummary = async (
    kind: 'initramfs' | 'rootfs',
    image: { key: string; path: string; size: number; cacheHit: boolean },
    content: InitramfsImage,
  ) => {
    const listing = await readInitramfs(content.path);
    const sources = new Map(content.entries.map((e) => [e.path, e.source]));
    return {
      kind,
      key: image.key,
      path: image.path,
      size: image.size,
      cacheHit: image.cacheHit,
      ...listing,
      entries: listing.entries.map((e) => {
        const source = sources.get(e.path);
        return source ? { ...e, source } : e;
      }),
    };
  };

  const handlers: ApiHandlers = {
    'app.info': () => appInfo,
    'doctor.run': (args) =>
      jobs.withProgress(
        { ...titled('Checking the host', '检查本机环境'), kind: 'doctor' },
        (progress, signal) => doctor.run({ kvmProbe: args.kvmProbe, signal }, progress),
      ),
    'doctor.last': () => doctor.last(),
    'jobs.list': () => jobs.list(),
    'jobs.cancel': (args) => jobs.cancel(args.id),
    'jobs.log': (args) => jobs.readLog(args.id, args.offset),
    'terminal.open': async (args, client) => {
      if (args.kind === 'shell') return terminals.open(client.clientId, 'shell', args.cols, args.rows);
      if (args.kind === 'crash') {
        const { vmcore, vmlinux } = await vmcoreWithVmlinux(args.vmcoreId);
        const executor = await openExecutor(workspace, { job: 'crash' });
        let source;
        try {
          if (!(await executor.which('crash')))
            throw new LabError('TOOL_MISSING', 'crash is not installed.', 'apt-get install -y crash');
          await checkPair(vmlinux, vmcore, executor);
          // Without less (the toolchain image has none), crash pages through util-linux more, which
          // stops at "--More--(END)" after every command; more -e ends at EOF like crash's less -E.
          const more = (await executor.which('less')) ? null : await executor.which('more');
          source = await executor.openTerminal(['crash', vmlinux, vmcore], {
            cwd: dirname(vmcore),
            ...(more ? { env: { ...process.env, CRASHPAGER: `${more} -e` } } : {}),
            cols: args.cols,
            rows: args.rows,
            inputs: [vmlinux, vmcore],
          });
        } catch (error) {
          await executor.dispose();
          throw error;
        }
        const where = executor.kind === 'host' ? '' : ` (${executor.kind})`;
        return terminals.attach(
          client.clientId,
          'crash',
          `crash · ${args.vmcoreId}${where}`,
          disposeWithTerminal(source, executor),
          args.cols,
          args.rows,
        );
      }
      const { source, title } =
        args.kind === 'vm-serial'
          ? vms.serialView(args.vmId)
          : await vms.gdbTerminal(args.vmId, { cols: args.cols, rows: args.rows });
      return terminals.attach(client.clientId, args.kind, title, source, args.cols, args.rows);
    },
    'terminal.list': (_args, client) => terminals.list(client.clientId),
    'terminal.write': (args, client) => {
      terminals.write(client.clientId, args.id, args.data);
      return null;
    },
    'terminal.resize': (args, client) => {
      terminals.resize(client.clientId, args.id, args.cols, args.rows);
      return null;
    },
    'terminal.ack': (args, client) => {
      terminals.ack(client.clientId, args.id, args.chars);
      return null;
    },
    'terminal.close': (args, client) => {
      terminals.close(client.clientId, args.id);
      return null;
    },
    'shell.openExternal': async (args) => {
      const url = validateExternalUrl(args.url);
      if (!url) throw new LabError('FORBIDDEN', `Refusing to open ${args.url}: only https links are opened.`);
      if (!options.openExternal) return { opened: false, url: url.href };
      await options.openExternal(url);
      return { opened: true, url: url.href };
    },
    'kernels.sources': async () =>
      (await findSources()).map((s) => ({ kind: s.kind, path: s.path, version: s.version ?? null })),
    'kernels.list': async () => Promise.all((await kernels.list()).map((k) => kernelSummary(k))),
    'kernels.build': async (args) => {
      // A dropped or chosen .config: refuse anything else before make sees it.
      if (typeof args.base === 'object') await requireKind(args.base.configFile, 'config');
      const built = await jobs.withProgress(
        {
          ...titled(`Building the kernel${await whereTitle()}`, `编译内核${await whereTitle()}`),
          kind: 'kernel-build',
        },
        (progress, signal) =>
          withExecutor('kernel-build', progress, (executor) =>
            new KernelBuilder(workspace, kconfigDir, executor).build(
              {
                source: args.source,
                base: args.base,
                fragments: args.fragments,
                extra: args.extra,
                optional: args.optional,
                ...(args.jobs ? { jobs: args.jobs } : {}),
              },
              progress,
              signal,
            ),
          ),
      );
      return { ...(await kernelSummary(built)), cacheHit: built.cacheHit };
    },
    'images.initramfs': async (args) => {
      const kernel = await kernels.load(args.kernelKey);
      const built = await jobs.withProgress(
        { ...titled('Packing the initramfs', '打包 initramfs'), kind: 'image' },
        (progress, signal) =>
          images.buildInitramfs({ init: args.init }, kernel.genInitCpio, signal, progress),
      );
      return packedSummary('initramfs', built, built);
    },
    'images.rootfs': async (args) => {
      const kernel = await kernels.load(args.kernelKey);
      const built = await jobs.withProgress(
        { ...titled('Building the ext4 rootfs', '制作 ext4 根文件系统'), kind: 'image' },
        (progress, signal) =>
          new RootfsBuilder(workspace, images).build(
            { init: args.init, extraMiB: args.extraMiB },
            kernel.genInitCpio,
            signal,
            progress,
          ),
      );
      return packedSummary('rootfs', built, built.content);
    },
    'images.list': () => listPackedImages(workspace),
    'images.contents': (args) => describePackedImage(workspace, args.kind, args.key),
    'vms.boot': async (args) =>
      jobs.withProgress(
        {
          ...titled(`Booting the lab kernel${await whereTitle()}`, `启动实验内核${await whereTitle()}`),
          kind: 'vm-boot',
        },
        async (progress, signal) =>
          vms.boot(
            {
              kernelKey: args.kernelKey,
              init: args.init,
              gdb: args.gdb,
              paused: args.paused,
              accel: args.accel,
              ...(args.memoryMiB ? { memoryMiB: args.memoryMiB } : {}),
              ...(args.cpus ? { cpus: args.cpus } : {}),
              ...(args.crashkernelMiB ? { crashkernelMiB: args.crashkernelMiB } : {}),
              ...(args.gdbPort ? { gdbPort: args.gdbPort } : {}),
            },
            progress,
            // The guest outlives the boot job: cancelling the job must not kill a booted guest.
            signal,
            // The guest owns its executor (its container lives as long as it does).
            await openExecutor(workspace, { job: 'vm' }),
          ),
      ),
    'vms.list': () => vms.list(),
    'vms.console': (args) => ({ text: vms.get(args.id).consoleText }),
    'vms.crash': (args) => {
      vms.crash(args.id);
      return null;
    },
    'vms.powerOff': (args) => vms.powerOff(args.id),
    'vms.dumpMemory': async (args) => {
      const entry = await jobs.withProgress(
        { ...titled('Dumping guest memory (QMP)', '转储客户机内存（QMP）'), kind: 'dump' },
        (progress, signal) => vms.dumpMemory(args.id, args.format, progress, signal),
      );
      return { id: entry.meta.id, ...entry };
    },
    'decoder.decode': (args) =>
      args.vmlinux ? decodeLog(args.text, { vmlinux: args.vmlinux }) : Promise.resolve(decodeText(args.text)),
    // A recipe that does not load is left out here and reported by recipes.problems.
    'recipes.list': async () => (await recipes.scan()).recipes.map((l) => l.recipe),
    'recipes.problems': async () => (await recipes.scan()).problems,
    'recipes.state': (args) => recipeRunner.readState(args.id),
    'recipes.run': async (args) => {
      const loaded = await recipes.get(args.id);
      // The recipe's own executor: wins over the setting, as in the runner.
      const where =
        (loaded.recipe.executor ?? (await readExecutorSettings(workspace)).executor) === 'docker'
          ? ' (Docker)'
          : '';
      return jobs.withProgress(
        {
          title: `Recipe: ${loaded.recipe.title.en}${where}`,
          titleText: {
            en: `Recipe: ${loaded.recipe.title.en}${where}`,
            'zh-CN': `实验：${loaded.recipe.title['zh-CN']}${where}`,
          },
          kind: 'recipe',
        },
        (progress, signal) =>
          recipeRunner.run(
            loaded,
            {
              nonInteractive: args.auto,
              restart: args.restart,
              ...(args.student ? { student: args.student } : {}),
              language: args.language,
              ask: (_question, stepId) => Promise.resolve(args.answers[stepId] ?? ''),
              // Each step's result as soon as it is known, not only when the whole run ends.
              onStepStart: (step) =>
                events.broadcast('recipe.step', {
                  recipeId: loaded.recipe.id,
                  stepId: step.id,
                  phase: 'started',
                  result: null,
                }),
              onStep: (step, result) =>
                events.broadcast('recipe.step', {
                  recipeId: loaded.recipe.id,
                  stepId: step.id,
                  phase: 'finished',
                  result,
                }),
            },
            progress,
            signal,
          ),
      );
    },
    'recipes.inspectPack': async (args) => packSummary(args.path, await readPackManifest(args.path)),
    'recipes.importPack': async (args) => {
      await requireKind(args.path, 'pack');
      const manifest = await jobs.withProgress(
        {
          ...titled(`Importing the lab pack ${basename(args.path)}`, `导入实验包 ${basename(args.path)}`),
          kind: 'lab-import',
        },
        (progress, signal) => packs.import(args.path, progress, signal),
      );
      return { ...packSummary(args.path, manifest), replacesShipped: manifest.replacesShipped };
    },
    'recipes.grade': async (args) =>
      gradeReports(
        args.reports,
        args.pack ? [await packSource(args.pack)] : await importedPacks(workspace),
        recipes,
      ),
    'files.identify': (args) => (args.expect ? requireKind(args.path, args.expect) : identifyFile(args.path)),
    'vmcores.inspect': (args) => inspectVmcore(args.path, kernels),
    'vmcores.import': async (args) => {
      const entry = await jobs.withProgress(
        {
          ...titled(`Importing the vmcore ${basename(args.path)}`, `导入 vmcore ${basename(args.path)}`),
          kind: 'vmcore-import',
        },
        (progress, signal) =>
          importVmcore(
            {
              path: args.path,
              ...(args.kernelKey ? { kernelKey: args.kernelKey } : {}),
              ...(args.vmlinux ? { vmlinux: args.vmlinux } : {}),
              // Uploads are the library's from now on; a file picked on this host is copied.
              move: isInside(inboxDir(workspace), args.path),
            },
            { library: vmcores, kernels },
            progress,
            signal,
          ),
      );
      return { id: entry.meta.id, ...entry };
    },
    'vmcores.analyze': async (args) => {
      const input = await vmcoreWithVmlinux(args.id);
      return jobs.withProgress(
        {
          ...titled(
            `Analyzing the vmcore (crash)${await whereTitle()}`,
            `用 crash 分析 vmcore${await whereTitle()}`,
          ),
          kind: 'analyze',
        },
        (progress, signal) =>
          withExecutor('analyze', progress, (executor) =>
            analyzeVmcore({ ...input, executor }, progress, signal),
          ),
      );
    },
    'vmcores.list': async () => (await vmcores.list()).map((e) => ({ id: e.meta.id, ...e })),
    'vmcores.remove': async (args) => {
      await vmcores.remove(args.id);
      return null;
    },
    'vmcores.capture': async (args) => {
      const kernel = await kernels.load(args.kernelKey);
      const entry = await jobs.withProgress(
        {
          ...titled(
            `Crash and capture (kdump)${await whereTitle()}`,
            `触发崩溃并抓取（kdump）${await whereTitle()}`,
          ),
          kind: 'capture',
        },
        (progress, signal) =>
          withExecutor('capture', progress, (executor) =>
            (executor.kind === 'host' ? capture : new KdumpCapture(workspace, executor)).capture(
              {
                kernel,
                trigger: args.trigger,
                memoryMiB: args.memoryMiB,
                dumpLevel: args.dumpLevel,
                ...(args.crashkernelMiB ? { crashkernelMiB: args.crashkernelMiB } : {}),
              },
              progress,
              signal,
            ),
          ),
      );
      return { id: entry.meta.id, ...entry };
    },
    'settings.get': () => settingsInfo(),
    'settings.setExecutor': async (args) => {
      // The full parse (ports, TLS, ssh user) before anything is saved: a bad address never sticks.
      if (args.engine) resolveEngineAddress({ host: args.engine });
      await writeExecutorSettings(workspace, {
        executor: args.executor,
        ...(args.image !== undefined ? { image: args.image } : {}),
        ...(args.engine !== undefined ? { dockerHost: args.engine } : {}),
      });
      return settingsInfo();
    },
    'docker.status': async () => {
      const { endpoint, isLocal, version, apiVersion } = await savedEngine();
      return { endpoint, isLocal, version, apiVersion };
    },
    'docker.images': async () => {
      const manifest = await readLabImageManifest(join(appRoot, 'lab-images'));
      const engine = await savedEngine();
      return {
        endpoint: engine.endpoint,
        labImages: manifest.images.map((i) => ({ name: i.name, description: i.description })),
        images: await listKdlabImages(engine),
      };
    },
    'docker.buildImage': async (args) => {
      const engine = await savedEngine();
      return jobs.withProgress(
        { ...titled(`Building the ${args.name} image`, `构建 ${args.name} 镜像`), kind: 'docker-build' },
        (progress, signal) =>
          ensureLabImage(engine, args.name, progress, signal, {
            labImagesDir: join(appRoot, 'lab-images'),
            force: args.force,
            ...(args.base ? { base: args.base } : {}),
          }),
      );
    },
  };

  return {
    dispatch: createDispatcher(handlers),
    events,
    workspace,
    jobs,
    doctor,
    terminals,
    kernels,
    images,
    vmRunner,
    vms,
    vmcores,
    capture,
    appRoot,
    async dispose() {
      terminals.dispose();
      await vms.dispose();
      await jobs.dispose();
    },
  };
}

async function kernelSummary(k: KernelArtifacts): Promise<KernelSummary> {
  const files: [string, string][] = [
    ['bzImage', k.bzImage],
    ['vmlinux', k.vmlinux],
    ['System.map', k.systemMap],
    ['.config', k.config],
    ['vmlinux-gdb.py', k.gdbScript],
    ['build log', k.buildLog],
  ];
  const artifacts = [];
  for (const [name, path] of files) {
    const info = await stat(path).catch(() => null);
    if (info) artifacts.push({ name, path, size: info.size });
  }
  return {
    key: k.key,
    release: k.manifest.kernelRelease,
    base: k.manifest.base,
    fragments: k.manifest.fragments,
    dir: k.dir,
    buildId: k.manifest.buildId,
    buildSeconds: k.manifest.buildSeconds,
    verification: k.manifest.verification,
    artifacts,
    modules: k.modules.length,
    executor: k.manifest.executor ?? null,
    builtAt: await readFile(join(k.dir, 'manifest.json'), 'utf8')
      .then((text) => (JSON.parse(text) as { createdAt?: string }).createdAt ?? null)
      .catch(() => null),
  };
}
