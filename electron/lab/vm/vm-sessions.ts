// The guests a back end is running: booted as jobs, listed with their accelerator, gdb port and boot
// timeline, viewed as terminals (the serial console, gdb on the stub), crashed on request, powered
// off. One per back end, shared by the API and the CLI; disposing it powers every guest off.
import { LabError } from '../../common/errors';
import type { VmInfo } from '../../common/types';
import type { Executor } from '../exec/executor';
import { hostExecutor } from '../exec/host-executor';
import { openGdbTerminal } from '../gdb/gdb-session';
import { ImageBuilder } from '../image/initramfs';
import type { InitTemplate } from '../image/init-templates';
import { initMarker } from '../image/init-templates';
import type { Progress } from '../jobs';
import { dumpGuestMemory } from '../kdump/memory-dump';
import type { QemuDumpFormat } from '../kdump/memory-dump';
import type { VmcoreEntry } from '../kdump/vmcore-library';
import type { Workspace } from '../workspace';
import type { KernelArtifacts, KernelBuilder } from '../kernel/kernel-builder';
import type { Disposable, TerminalExit, TerminalSource } from '../terminals/terminal-source';
import { VmRunner } from './vm-runner';
import type { RunningVm } from './vm-runner';

export interface VmBootRequest {
  kernelKey: string;
  init?: InitTemplate;
  initrd?: string;
  memoryMiB?: number;
  cpus?: number;
  crashkernelMiB?: number;
  gdb?: boolean;
  gdbPort?: number;
  paused?: boolean;
  accel?: 'auto' | 'kvm' | 'tcg';
  appendExtra?: string[];
}

interface Session {
  vm: RunningVm;
  kernel: KernelArtifacts;
  state: VmInfo['state'];
  startedAt: string;
  memoryMiB: number;
  /** Where QEMU runs; gdb on the guest's stub runs there too (the stub is published on that engine's host). */
  executor: Executor;
}

/** How long a view that never says it is on screen (no resize) holds a stopped guest's console exit. */
const heldExitMs = 2_000;

/** A view onto a guest's serial console: closing the view never closes the console itself. */
class SerialView implements TerminalSource {
  readonly pid = null;
  readonly #subscriptions: Disposable[] = [];
  readonly #exitListeners = new Set<(exit: TerminalExit) => void>();
  readonly #dataListeners: ((chunk: Uint8Array | string) => void)[] = [];
  #replayed = false;
  /** Exits that came before the replay, released right after it. */
  readonly #held: (() => void)[] = [];
  #holdTimer: NodeJS.Timeout | undefined;

  /** `stopped`: the guest is gone already; its console ends right after the replay. */
  constructor(
    private readonly vm: RunningVm,
    private readonly stopped = false,
  ) {}

  onData(listener: (chunk: Uint8Array | string) => void): Disposable {
    this.#dataListeners.push(listener);
    // Until the view is on screen, the console text (replayed then) holds everything printed.
    const sub = this.vm.serial.onData((chunk) => {
      if (this.#replayed) listener(chunk);
    });
    this.#subscriptions.push(sub);
    return sub;
  }

  onExit(listener: (exit: TerminalExit) => void): Disposable {
    this.#exitListeners.add(listener);
    // A guest that already stopped (init exited, a panic without kdump) ends its console before the
    // view is on screen: the exit waits for the replay, or the view would only ever show the exit.
    const sub = this.vm.serial.onExit((exit) => {
      if (this.#replayed) listener(exit);
      else {
        this.#held.push(() => listener(exit));
        this.#holdTimer ??= setTimeout(() => this.resize(), heldExitMs);
      }
    });
    this.#subscriptions.push(sub);
    // The console's own exit came before this view existed: it will not come again.
    if (this.stopped && !this.#replayed) {
      this.#held.push(() => listener({ exitCode: 0, signal: null }));
      this.#holdTimer ??= setTimeout(() => this.resize(), heldExitMs);
    }
    return {
      dispose: () => {
        this.#exitListeners.delete(listener);
        sub.dispose();
      },
    };
  }

  write(data: string): void {
    this.vm.sendKeys(data);
  }

  /**
   * A serial line has no window size; the first resize is the view saying it is on screen, which is
   * when what the guest printed before the view opened is replayed (earlier output would be lost).
   */
  resize(): void {
    if (this.#replayed) return;
    this.#replayed = true;
    clearTimeout(this.#holdTimer);
    const text = this.vm.consoleText.replace(/\r?\n/g, '\r\n');
    if (text) for (const listener of this.#dataListeners) listener(text);
    for (const release of this.#held.splice(0)) release();
  }

  // The console log and boot timeline must keep flowing: the pump's backpressure is not applied here.
  pause(): void {}
  resume(): void {}

  kill(): void {
    clearTimeout(this.#holdTimer);
    this.#held.length = 0;
    for (const sub of this.#subscriptions) sub.dispose();
    for (const listener of this.#exitListeners) listener({ exitCode: 0, signal: null });
  }
}

export class VmSessions {
  readonly #sessions = new Map<string, Session>();

  constructor(
    private readonly runner: VmRunner,
    private readonly kernels: KernelBuilder,
    private readonly images: ImageBuilder,
    private readonly onChange: (info: VmInfo) => void = () => undefined,
    private readonly workspace: Workspace | null = null,
  ) {}

  /** QEMU's dump-guest-memory into the vmcore library (the fallback when kdump is not armed). */
  async dumpMemory(
    id: string,
    format: QemuDumpFormat,
    progress: Progress,
    signal: AbortSignal,
  ): Promise<VmcoreEntry> {
    const session = this.#session(id);
    if (!this.workspace || session.state === 'stopped')
      throw new LabError('UNAVAILABLE', `Guest ${id} is not running: there is no memory to dump.`);
    return dumpGuestMemory(
      this.workspace,
      session.vm,
      session.kernel,
      { format, memoryMiB: session.memoryMiB },
      progress,
      signal,
    );
  }

  /**
   * Boots a guest and resolves once it reaches its init marker (or panics, or prints nothing new).
   * `executor` (default: the runner's, the host) packs the image and runs QEMU; the guest owns it
   * from then on: it is disposed when the guest exits, or at once when the boot fails.
   */
  async boot(
    request: VmBootRequest,
    progress: Progress,
    signal: AbortSignal,
    executor: Executor = hostExecutor,
  ): Promise<VmInfo> {
    let vm: RunningVm;
    let kernel: KernelArtifacts;
    try {
      ({ vm, kernel } = await this.#start(request, progress, signal, executor));
    } catch (error) {
      await executor.dispose();
      throw error;
    }
    const session: Session = {
      vm,
      kernel,
      state: request.paused ? 'paused' : 'running',
      memoryMiB: request.memoryMiB ?? (request.crashkernelMiB ? 1024 : 512),
      startedAt: new Date().toISOString(),
      executor,
    };
    return this.#watch(session, request, progress);
  }

  async #start(
    request: VmBootRequest,
    progress: Progress,
    signal: AbortSignal,
    executor: Executor,
  ): Promise<{ vm: RunningVm; kernel: KernelArtifacts }> {
    let images = this.images;
    let runner = this.runner;
    if (executor.kind !== 'host') {
      if (!this.workspace)
        throw new LabError('INTERNAL', 'Guests in containers need the workspace (VmSessions without one).');
      images = new ImageBuilder(this.workspace, executor);
      runner = new VmRunner(this.workspace, executor);
    }
    const kernel = await this.kernels.load(request.kernelKey);
    let initrd = request.initrd;
    if (!initrd) {
      progress.report({ fraction: 0.1, message: 'Packing the initramfs' });
      const image = await images.buildInitramfs(
        { init: request.init ?? { kind: 'shell' } },
        kernel.genInitCpio,
        signal,
      );
      initrd = image.path;
    }
    progress.report({
      fraction: 0.3,
      message: `Starting QEMU${executor.kind === 'host' ? '' : ` in ${executor.describe()}`}`,
    });
    const vm = await runner.boot(
      {
        kernel: kernel.bzImage,
        initrd,
        ...(request.memoryMiB ? { memoryMiB: request.memoryMiB } : {}),
        ...(request.cpus ? { cpus: request.cpus } : {}),
        ...(request.crashkernelMiB ? { crashkernelMiB: request.crashkernelMiB } : {}),
        ...(request.gdb || request.paused
          ? { gdb: { port: request.gdbPort ?? ('next-free' as const) } }
          : {}),
        ...(request.paused ? { paused: true } : {}),
        ...(request.accel ? { accel: request.accel } : {}),
        ...(request.appendExtra ? { appendExtra: request.appendExtra } : {}),
        markers: [{ name: 'init-ready', pattern: initMarker }],
      },
      signal,
    );
    return { vm, kernel };
  }

  async #watch(session: Session, request: VmBootRequest, progress: Progress): Promise<VmInfo> {
    const vm = session.vm;
    this.#sessions.set(vm.id, session);
    vm.onMilestone((m) => {
      if (m.kind === 'panic') session.state = 'panicked';
      this.onChange(this.#info(session));
    });
    void vm.exited.then(async () => {
      session.state = 'stopped';
      this.onChange(this.#info(session));
      await session.executor.dispose().catch(() => undefined);
    });
    this.onChange(this.#info(session));
    if (request.paused) {
      progress.report({ fraction: 1, message: `Paused at the first instruction; gdb on :${vm.gdbPort}` });
      return this.#info(session);
    }
    progress.report({ fraction: 0.5, message: `Booting (${vm.accel.accel})` });
    const reached = await vm
      .waitFor((m) => m.kind === 'panic' || (m.kind === 'marker' && m.detail === 'init-ready'), 60_000)
      .catch(() => null);
    progress.report({
      fraction: 1,
      message: reached ? `Reached ${reached.kind === 'panic' ? 'a panic' : 'init'}` : 'Booting',
    });
    return this.#info(session);
  }

  list(): VmInfo[] {
    return [...this.#sessions.values()].map((s) => this.#info(s));
  }

  get(id: string): RunningVm {
    return this.#session(id).vm;
  }

  serialView(id: string): { source: TerminalSource; title: string } {
    const session = this.#session(id);
    return {
      source: new SerialView(session.vm, session.state === 'stopped'),
      title: `ttyS0 · ${session.kernel.manifest.kernelRelease}`,
    };
  }

  async gdbTerminal(id: string, size: { cols: number; rows: number }) {
    const session = this.#session(id);
    if (session.vm.gdbPort === null)
      throw new LabError(
        'UNAVAILABLE',
        `Guest ${id} was booted without the gdb stub.`,
        'Boot it again with gdb enabled (kdlab boot --gdb).',
      );
    return openGdbTerminal(
      { vmlinux: session.kernel.vmlinux, gdbScript: session.kernel.gdbScript, port: session.vm.gdbPort },
      size,
      process.env,
      session.executor,
    );
  }

  /** Crash now: sysrq c typed into the guest's shell (the serial line cannot send a BREAK). */
  crash(id: string): void {
    const session = this.#session(id);
    if (session.state !== 'running')
      throw new LabError(
        'UNAVAILABLE',
        `Guest ${id} is ${session.state}; only a running guest can be crashed.`,
      );
    session.vm.sendKeys('echo 1 > /proc/sys/kernel/sysrq; echo c > /proc/sysrq-trigger\r');
  }

  async powerOff(id: string): Promise<VmInfo> {
    const session = this.#session(id);
    await session.vm.powerOff();
    session.state = 'stopped';
    return this.#info(session);
  }

  async dispose(): Promise<void> {
    await Promise.all(
      [...this.#sessions.values()].map(async (s) => {
        await s.vm.powerOff().catch(() => undefined);
        await s.executor.dispose().catch(() => undefined);
      }),
    );
    this.#sessions.clear();
  }

  #session(id: string): Session {
    const session = this.#sessions.get(id);
    if (!session) throw new LabError('NOT_FOUND', `No guest ${id} is running in this kdlab.`);
    return session;
  }

  #info(s: Session): VmInfo {
    return {
      id: s.vm.id,
      state: s.state,
      kernelKey: s.kernel.key,
      kernelRelease: s.kernel.manifest.kernelRelease,
      accel: s.vm.accel.accel,
      accelReason: s.vm.accel.reason,
      gdbPort: s.vm.gdbPort,
      argv: s.vm.argv,
      startedAt: s.startedAt,
      milestones: s.vm.milestones.map((m) => ({ ...m })),
      runDir: s.vm.runDir,
      executor: s.vm.executor,
      exitReason: s.state === 'stopped' ? s.vm.exitReason : null,
    };
  }
}
