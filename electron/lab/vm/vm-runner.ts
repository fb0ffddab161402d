// Boots a lab guest: the accelerator chosen by a real KVM probe (cached per kernel), the gdb stub on a
// free port (or a clear conflict), the serial console on a socket (a terminal source, a console log
// and a boot timeline), QMP for power-off and memory dumps; cancel or dispose kills QEMU.
import { randomUUID } from 'node:crypto';
import { createWriteStream } from 'node:fs';
import { mkdir, readFile, rm, stat } from 'node:fs/promises';
import { join } from 'node:path';
import { LabError } from '../../common/errors';
import type { LabErrorData } from '../../common/errors';
import { fmt, isLocalText, sameText } from '../../common/local-text';
import type { LocalText } from '../../common/local-text';
import { isPortFree } from '../doctor/checks';
import { probeKvm } from '../doctor/kvm-probe';
import type { Executor, LabProcess } from '../exec/executor';
import { hostExecutor } from '../exec/host-executor';
import type { TerminalSource } from '../terminals/terminal-source';
import type { Workspace } from '../workspace';
import { writeJsonAtomic } from '../workspace';
import { BootTimeline } from './boot-timeline';
import type { Milestone } from './boot-timeline';
import { QmpClient } from './qmp';
import { labAppend, qemuArgv } from './qemu-args';
import type { VmDisk } from './qemu-args';
import { SerialSocketSource } from './serial-source';
import { rootfsAppend } from '../image/rootfs';

export interface BootSpec {
  kernel: string;
  initrd?: string;
  memoryMiB?: number;
  cpus?: number;
  crashkernelMiB?: number;
  appendExtra?: string[];
  /** Replace the whole kernel command line. */
  append?: string;
  accel?: 'auto' | 'kvm' | 'tcg';
  gdb?: { port: number | 'next-free' };
  paused?: boolean;
  disks?: VmDisk[];
  /** An ext4 root filesystem booted as /dev/vda with its /init (in snapshot mode: the image is not changed). */
  rootfs?: string;
  share?: { path: string; tag: string };
  markers?: { name: string; pattern: string }[];
}

export interface AccelChoice {
  accel: 'kvm' | 'tcg';
  /** Why this accelerator, in every interface language (the VMs view shows it). */
  reason: LocalText;
}

export interface VmExit {
  code: number | null;
  signal: NodeJS.Signals | null;
  stderr: string;
  /** Set when QEMU was ended from outside kdlab (its container killed or removed, OOM); null otherwise. */
  reason: LabErrorData | null;
}

export class RunningVm {
  readonly milestones: Milestone[] = [];
  #listeners = new Set<(m: Milestone) => void>();
  #console = '';
  #exitedYet = false;
  #exitReason: LabErrorData | null = null;

  constructor(
    readonly id: string,
    readonly argv: string[],
    readonly accel: AccelChoice,
    readonly gdbPort: number | null,
    readonly runDir: string,
    readonly serial: TerminalSource,
    readonly qmp: QmpClient,
    readonly exited: Promise<VmExit>,
    private readonly kill: () => void,
    /** Where QEMU runs ("host", or the Docker image and engine). */
    readonly executor = 'host',
  ) {
    void exited.then((e) => {
      this.#exitedYet = true;
      this.#exitReason = e.reason;
    });
  }

  /** Why QEMU ended, when something outside kdlab ended it (its container killed); else null. */
  get exitReason(): LabErrorData | null {
    return this.#exitReason;
  }

  get consoleText(): string {
    return this.#console;
  }

  /** @internal fed by the runner */
  record(text: string, found: Milestone[]): void {
    this.#console += text;
    for (const m of found) {
      this.milestones.push(m);
      for (const listener of this.#listeners) listener(m);
    }
  }

  onMilestone(listener: (m: Milestone) => void): () => void {
    this.#listeners.add(listener);
    return () => this.#listeners.delete(listener);
  }

  /** Resolves with the first milestone that matches, or rejects when QEMU exits or time runs out. */
  waitFor(match: (m: Milestone) => boolean, timeoutMs: number): Promise<Milestone> {
    const seen = this.milestones.find(match);
    if (seen) return Promise.resolve(seen);
    return new Promise((resolve, reject) => {
      const timer = setTimeout(() => {
        off();
        reject(
          new LabError(
            'TIMEOUT',
            `The guest did not get there within ${timeoutMs / 1000} s. Last console lines:\n${this.#console.split('\n').slice(-8).join('\n')}`,
          ),
        );
      }, timeoutMs);
      const off = this.onMilestone((m) => {
        if (!match(m)) return;
        clearTimeout(timer);
        off();
        resolve(m);
      });
      void this.exited.then((exit) => {
        // Give the last console bytes a moment to be parsed.
        setTimeout(() => {
          const late = this.milestones.find(match);
          clearTimeout(timer);
          off();
          const lines = this.#console.split('\n').slice(-8).join('\n');
          if (late) resolve(late);
          else if (exit.reason)
            reject(
              new LabError(
                exit.reason.code,
                `${exit.reason.message} Last console lines:\n${lines}`,
                exit.reason.hint,
              ),
            );
          else
            reject(
              new LabError('IO', `QEMU exited before the guest got there. Last console lines:\n${lines}`),
            );
        }, 50);
      });
    });
  }

  sendKeys(text: string): void {
    this.serial.write(text);
  }

  async powerOff(): Promise<void> {
    if (this.#exitedYet) return;
    await this.qmp.execute('quit').catch(() => undefined);
    const timer = setTimeout(() => this.kill(), 3_000);
    await this.exited;
    clearTimeout(timer);
  }

  stop(): void {
    this.kill();
  }
}

/** Why a guest runs under KVM or TCG; `{detail}` is the KVM probe's verdict. */
export const accelTexts = {
  tcgAsked: { en: 'TCG was asked for', 'zh-CN': '指定了使用 TCG' },
  kvmWorks: { en: 'KVM: {detail}', 'zh-CN': 'KVM：{detail}' },
  tcgFallback: {
    en: 'TCG, because KVM does not work with this kernel here: {detail}',
    'zh-CN': '使用 TCG，因为 KVM 在这台机器上无法运行这个内核：{detail}',
  },
} satisfies Record<string, LocalText>;

export class VmRunner {
  constructor(
    private readonly workspace: Workspace,
    private readonly executor: Executor = hostExecutor,
  ) {}

  async chooseAccel(kernel: string, requested: BootSpec['accel'] = 'auto'): Promise<AccelChoice> {
    if (requested === 'tcg') return { accel: 'tcg', reason: accelTexts.tcgAsked };
    const info = await stat(kernel).catch(() => null);
    const key = `${kernel}:${info?.size ?? 0}:${Math.trunc(info?.mtimeMs ?? 0)}`;
    const file = join(this.workspace.stateDir, 'kvm-verdicts.json');
    const verdicts = JSON.parse(await readFile(file, 'utf8').catch(() => '{}')) as Record<
      string,
      { verdict: string; detail: LocalText | string }
    >;
    let known = verdicts[key];
    // Verdicts saved before the probe's words were localized are plain English.
    if (known && !isLocalText(known.detail)) known = { ...known, detail: sameText(known.detail) };
    if (!known) {
      const probe = await probeKvm({ kernels: [kernel], timeoutMs: 10_000 });
      known = { verdict: probe.verdict, detail: probe.detail };
      verdicts[key] = known;
      await writeJsonAtomic(file, verdicts);
    }
    const detail = isLocalText(known.detail) ? known.detail : sameText(known.detail);
    if (known.verdict === 'works') return { accel: 'kvm', reason: fmt(accelTexts.kvmWorks, { detail }) };
    if (requested === 'kvm')
      throw new LabError(
        'UNAVAILABLE',
        `KVM was asked for, but it does not work here: ${detail.en}.`,
        'Boot with TCG (accel tcg).',
      );
    return { accel: 'tcg', reason: fmt(accelTexts.tcgFallback, { detail }) };
  }

  async resolveGdbPort(gdb: BootSpec['gdb']): Promise<number | null> {
    if (!gdb) return null;
    if (gdb.port !== 'next-free') {
      if (await isPortFree(gdb.port)) return gdb.port;
      throw new LabError(
        'PORT_BUSY',
        `TCP port ${gdb.port} for the gdb stub is already in use.`,
        `Stop what holds it (ss -ltnp 'sport = :${gdb.port}') or let kdlab take the next free port.`,
      );
    }
    for (let port = 1234; port < 1334; port += 1) if (await isPortFree(port)) return port;
    throw new LabError('PORT_BUSY', 'No free TCP port between 1234 and 1333 for the gdb stub.');
  }

  async boot(spec: BootSpec, signal?: AbortSignal): Promise<RunningVm> {
    const executor = this.executor;
    const qemu = await executor.which('qemu-system-x86_64');
    if (!qemu)
      throw new LabError(
        'TOOL_MISSING',
        'qemu-system-x86_64 is not installed.',
        'apt-get install -y qemu-system-x86',
      );
    for (const path of [spec.kernel, spec.initrd, spec.rootfs].filter((p): p is string => Boolean(p))) {
      if (!(await stat(path).catch(() => null))) throw new LabError('NOT_FOUND', `${path} does not exist.`);
    }
    const accel = await this.chooseAccel(spec.kernel, spec.accel);
    const gdbPort = await this.resolveGdbPort(spec.gdb);
    const id = randomUUID().slice(0, 8);
    const runDir = join(this.workspace.root, 'run', id);
    await mkdir(runDir, { recursive: true });
    const argv = qemuArgv({
      qemu,
      accel: accel.accel,
      kernel: spec.kernel,
      ...(spec.initrd ? { initrd: spec.initrd } : {}),
      append:
        spec.append ??
        labAppend({
          ...(spec.crashkernelMiB ? { crashkernelMiB: spec.crashkernelMiB } : {}),
          gdb: gdbPort !== null,
          extra: [...(spec.rootfs ? rootfsAppend : []), ...(spec.appendExtra ?? [])],
        }),
      memoryMiB: spec.memoryMiB ?? (spec.crashkernelMiB ? 1024 : 512),
      cpus: spec.cpus ?? 1,
      serialSocket: join(runDir, 'serial.sock'),
      qmpSocket: join(runDir, 'qmp.sock'),
      ...(spec.disks || spec.rootfs
        ? {
            disks: [
              ...(spec.rootfs ? [{ path: spec.rootfs, format: 'raw' as const, snapshot: true }] : []),
              ...(spec.disks ?? []),
            ],
          }
        : {}),
      ...(spec.share ? { share: spec.share } : {}),
      ...(gdbPort !== null ? { gdbPort, gdbHost: executor.listenHost } : {}),
      ...(spec.paused ? { paused: true } : {}),
    });
    await writeJsonAtomic(join(runDir, 'vm.json'), {
      id,
      argv,
      accel,
      gdbPort,
      executor: executor.describe(),
      startedAt: new Date().toISOString(),
    });
    const child: LabProcess = await executor.spawn(argv, {
      installHint: 'apt-get install -y qemu-system-x86',
      ...(gdbPort !== null ? { ports: [gdbPort] } : {}),
      // Only a KVM the probe found working is passed into a container.
      ...(accel.accel === 'kvm' ? { devices: ['/dev/kvm'] } : {}),
      inputs: [
        spec.kernel,
        spec.initrd,
        spec.rootfs,
        spec.share?.path,
        ...(spec.disks ?? []).map((d) => d.path),
      ].filter((p): p is string => Boolean(p)),
    });
    let stderr = '';
    child.stderr.on('data', (c: Buffer) => (stderr += c.toString()));
    child.stdout.resume();
    const exited = child.wait().then((e): VmExit => ({
      code: e.exitCode,
      signal: e.signal,
      stderr: stderr || (e.exitCode === null && e.signal === null && !e.reason ? 'QEMU could not start' : ''),
      reason: e.reason ?? null,
    }));
    const kill = () => child.kill();
    const onAbort = () => kill();
    signal?.addEventListener('abort', onAbort, { once: true });
    void exited.then(() => signal?.removeEventListener('abort', onAbort));

    const timeline = new BootTimeline(
      (spec.markers ?? []).map((m) => ({ name: m.name, pattern: new RegExp(m.pattern) })),
    );
    let serial: TerminalSource;
    let qmp: QmpClient;
    try {
      const failed = exited.then((e) => {
        if (e.reason) throw LabError.fromData(e.reason);
        throw new LabError('IO', `QEMU exited at once: ${e.stderr.trim() || `status ${e.code}`}`);
      });
      [serial, qmp] = await Promise.race([
        Promise.all([
          this.#connectSerial(child, join(runDir, 'serial.sock')),
          QmpClient.connect(join(runDir, 'qmp.sock')),
        ]),
        failed,
      ]);
    } catch (error) {
      kill();
      throw error;
    }
    const vm = new RunningVm(
      id,
      argv,
      accel,
      gdbPort,
      runDir,
      serial,
      qmp,
      exited,
      kill,
      executor.describe(),
    );
    const log = createWriteStream(join(runDir, 'console.log'));
    const decoder = new TextDecoder();
    serial.onData((chunk) => {
      const text = typeof chunk === 'string' ? chunk : decoder.decode(chunk, { stream: true });
      log.write(text);
      vm.record(text, timeline.push(text));
    });
    void exited.then(async () => {
      vm.record('', timeline.push('\n'));
      log.end();
      qmp.close();
      await rm(join(runDir, 'serial.sock'), { force: true });
      await rm(join(runDir, 'qmp.sock'), { force: true });
    });
    return vm;
  }

  /**
   * On the host, kdlab connects to QEMU's serial socket itself. In a container the console goes
   * through an exec (socat on that socket, raw): the same path a remote engine needs.
   */
  async #connectSerial(qemu: LabProcess, socket: string): Promise<TerminalSource> {
    if (this.executor.kind === 'host') return SerialSocketSource.connect(socket);
    if (!(await this.executor.which('socat'))) {
      // A local engine shares the run folder, socket included: connect to it directly.
      if (!this.executor.sharesHostFiles) {
        throw new LabError(
          'TOOL_MISSING',
          `socat is not in the lab image (${this.executor.describe()}): the guest's console cannot be reached on a remote engine.`,
          'Add socat to lab-images/toolchain/Dockerfile and rebuild: kdlab images build toolchain.',
        );
      }
      return SerialSocketSource.connect(socket);
    }
    // The socket appears once QEMU has parsed its options. A shared run folder is watched from here;
    // on a remote engine socat itself retries for the same 10 s (the folder is in the engine's volume).
    let connect = `UNIX-CONNECT:${socket}`;
    if (this.executor.sharesHostFiles) {
      const deadline = Date.now() + 10_000;
      while (!(await stat(socket).catch(() => null))) {
        if (Date.now() > deadline)
          throw new LabError('TIMEOUT', `The guest's serial socket ${socket} did not appear.`);
        await new Promise((r) => setTimeout(r, 25));
      }
    } else connect += ',retry=400,interval=0.025';
    return qemu.openTerminal(['socat', 'STDIO,raw,echo=0', connect], { cols: 80, rows: 24 });
  }
}
