// The Docker executor: every step is a short-lived container of the lab toolchain image.
// - The workspace is bind-mounted at its own path (a remote engine gets a named volume there instead,
//   and a step's declared inputs/outputs travel with putArchive/getArchive), so paths mean the same
//   inside and out; extra read-only inputs are mounted read-only at their own path.
// - Processes run as the invoking user's uid:gid with HOME in the workspace: files stay the user's.
// - No --privileged; /dev/kvm only when the caller says KVM works; published ports on 127.0.0.1 only.
// - Every container carries kdlab's labels (workspace, job, owner pid), is removed when it exits or
//   is cancelled, and leftovers of dead kdlab processes are removed by cleanupLeftovers().
import { randomUUID } from 'node:crypto';
import { mkdir, stat } from 'node:fs/promises';
import { writeSync } from 'node:fs';
import { hostname } from 'node:os';
import { basename, dirname, relative } from 'node:path';
import { PassThrough } from 'node:stream';
import type { Duplex, Readable } from 'node:stream';
import type Dockerode from 'dockerode';
import { LabError } from '../../common/errors';
import type { LabErrorData } from '../../common/errors';
import { spawnTree } from '../process';
import type { RunResult } from '../process';
import type { Disposable, TerminalSource } from '../terminals/terminal-source';
import { isInside } from '../workspace';
import { diskFullError, dockerError, engineError, isDiskFull, kdlabLabel } from '../docker/engine';
import type { DockerEngine } from '../docker/engine';
import type {
  ExecRunOptions,
  ExecSpawnOptions,
  ExecTerminalOptions,
  Executor,
  LabExit,
  LabProcess,
  LabTerminalExit,
  StepPaths,
} from './executor';

const workspaceLabel = 'io.kdlab.workspace';
const jobLabel = 'io.kdlab.job';
const ownerLabel = 'io.kdlab.owner';

export type DockerEngineHandle = Pick<DockerEngine, 'docker' | 'endpoint' | 'isLocal'>;

export interface DockerExecutorOptions {
  engine: DockerEngineHandle;
  /** The image (tag or id) steps run in, e.g. kdlab/toolchain:latest. */
  image: string;
  /** The workspace root, mounted at the same path. */
  workspace: string;
  /** Extra folders every step may read (e.g. /usr/src), mounted read-only at the same path. */
  readOnly?: string[];
  /** Defaults to the invoking user's. */
  user?: { uid: number; gid: number };
  /** Treat a local engine as remote (no bind mounts; putArchive/getArchive; a named volume). */
  forceRemote?: boolean;
  /** Named volume holding the workspace on a remote engine (default derived from the workspace path). */
  volume?: string;
  /** A word naming what the containers are for, in their label and name (e.g. the job). */
  job?: string;
}

interface CreateRequest extends StepPaths {
  argv: readonly string[];
  cwd?: string | undefined;
  env?: NodeJS.ProcessEnv | undefined;
  stdin?: boolean;
  ports?: number[] | undefined;
  devices?: string[] | undefined;
  autoRemove: boolean;
}

/** Env worth passing in: what the caller set on purpose, never the host's PATH/HOME. */
const passThroughEnv = new Set(['LANG', 'LC_ALL', 'TERM', 'COLORTERM', 'ARCH', 'SOURCE_DATE_EPOCH']);
const hostOnlyEnv = new Set(['PATH', 'HOME', 'PWD', 'OLDPWD', 'SHELL', 'USER', 'LOGNAME', 'TMPDIR']);

function containerEnv(env: NodeJS.ProcessEnv | undefined, home: string): string[] {
  const out = new Map<string, string>([
    ['HOME', home],
    ['LANG', 'C.UTF-8'],
  ]);
  for (const [key, value] of Object.entries(env ?? {})) {
    if (value === undefined || hostOnlyEnv.has(key)) continue;
    if (passThroughEnv.has(key) || value !== process.env[key]) out.set(key, value);
  }
  return [...out].map(([k, v]) => `${k}=${v}`);
}

function statusOf(error: unknown): number | undefined {
  return (error as { statusCode?: number }).statusCode;
}

/** What kdlab knows about a container that ended without kdlab stopping it. */
export interface OutsideKill {
  /** The program the container ran (a path is shortened to its name). */
  command: string;
  containerId: string;
  /** The container's status: 137 (SIGKILL), or -1 when it was gone before it could report one. */
  status: number;
  /** Docker's State.OOMKilled, when the container could still be inspected. */
  oomKilled: boolean;
  /** Where it ran (the executor's description). */
  where: string;
  /** A step kdlab waits for (run), or a long-lived process (QEMU, a terminal's container). */
  lifetime: 'step' | 'long-lived';
}

/** The error data for a container killed from outside: docker kill / rm -f, a daemon restart, OOM. */
export function killedFromOutside(kill: OutsideKill): LabErrorData {
  const id = kill.containerId.slice(0, 12);
  const what = kill.oomKilled
    ? `its container ${id} was killed from outside kdlab by the out-of-memory killer (OOMKilled)`
    : kill.status === 137
      ? `its container ${id} was killed (SIGKILL, exit 137) from outside kdlab — docker kill or docker rm -f, a Docker daemon restart, or the out-of-memory killer`
      : `its container ${id} disappeared before it could report an exit status — removed from outside kdlab (docker rm -f, or a Docker daemon restart)`;
  const command = basename(kill.command);
  const events = `docker events --since 1h --filter container=${id}`;
  const again =
    kill.lifetime === 'step'
      ? 'kdlab caches only finished steps: run it again'
      : 'Start it again (boot the guest again, or reopen the terminal)';
  return {
    code: 'IO',
    message:
      kill.lifetime === 'step'
        ? `${command} did not finish: ${what} (${kill.where}).`
        : `${command} stopped: ${what} (${kill.where}).`,
    hint: kill.oomKilled
      ? `The Docker host ran out of memory for it: free memory there (docker stats shows what uses it) or give the guest less, then ${kill.lifetime === 'step' ? 'run it again' : 'start it again'}.`
      : `${again}. If it keeps happening, see what stops it with ${events}, and check the memory of the Docker host (docker stats).`,
  };
}

/** Runs host tar; resolves once it exits 0. */
function hostTar(args: string[], stdin?: NodeJS.ReadableStream): { out: Readable; done: Promise<void> } {
  const child = spawnTree(['tar', ...args], { stdio: [stdin ? 'pipe' : 'ignore', 'pipe', 'pipe'] });
  let stderr = '';
  child.stderr?.on('data', (c: Buffer) => (stderr += c.toString()));
  if (stdin && child.stdin) stdin.pipe(child.stdin);
  const done = new Promise<void>((resolve, reject) => {
    child.once('error', (e) => reject(new LabError('TOOL_MISSING', `tar could not start: ${e.message}`)));
    child.once('close', (code) =>
      code === 0 ? resolve() : reject(new LabError('IO', `tar ${args[0]} failed: ${stderr.trim()}`)),
    );
  });
  return { out: child.stdout ?? new PassThrough().end(), done };
}

/** The container an exec terminal runs in, as far as the terminal needs to know it. */
export interface ExecTerminalOwner {
  /** The exit of the container's own process (QEMU, a terminal's keep-alive): it carries an outside kill. */
  exited: () => Promise<LabExit>;
  /** Also print an outside kill into the terminal (not into a guest console, whose text is the guest's log). */
  announce: boolean;
  /** Called once the terminal has ended or been killed (a standalone terminal stops its container). */
  onEnd: () => void;
}

/** How long a terminal whose program was SIGKILLed waits to learn whether its container went with it. */
const ownerExitGraceMs = 5_000;

/** An exec session (Tty) in a container, behind the common terminal interface. */
export class ExecTerminalSource implements TerminalSource {
  readonly pid = null;
  /** The container the exec runs in (full id). */
  readonly containerId: string;
  /** The exec's argv, for logs and tests: what the terminal is connected to. */
  readonly argv: readonly string[];
  readonly #exec: Dockerode.Exec;
  readonly #stream: Duplex;
  readonly #data = new Set<(chunk: Uint8Array | string) => void>();
  readonly #exit = new Set<(exit: LabTerminalExit) => void>();
  readonly #onKill: () => void;
  #ended = false;
  /** kdlab closed it (kill): whatever happens to the container then is kdlab's doing. */
  #closedByKdlab = false;

  private constructor(
    container: Dockerode.Container,
    argv: readonly string[],
    exec: Dockerode.Exec,
    stream: Duplex,
    owner: ExecTerminalOwner,
  ) {
    this.containerId = container.id;
    this.argv = [...argv];
    this.#exec = exec;
    this.#stream = stream;
    this.#onKill = owner.onEnd;
    stream.on('data', (chunk: Buffer) => {
      for (const listener of this.#data) listener(chunk);
    });
    stream.on('error', () => undefined);
    const finish = () => {
      if (this.#ended) return;
      this.#ended = true;
      void (async () => {
        const exitCode = await exec
          .inspect()
          .then((info) => info.ExitCode ?? null)
          .catch(() => null);
        const reason = await this.#outsideKill(exitCode, owner);
        if (reason && owner.announce) {
          const text = `\r\n\x1b[1;31mkdlab: ${reason.message}\x1b[0m\r\n${reason.hint ?? ''}\r\n`;
          for (const listener of this.#data) listener(text);
        }
        for (const listener of this.#exit)
          listener({ exitCode, signal: null, ...(reason ? { reason } : {}) });
        owner.onEnd();
      })();
    };
    stream.once('end', finish);
    stream.once('close', finish);
  }

  /**
   * Why the exec ended, when its container was killed from outside: the program then died of SIGKILL
   * (137), or the exec vanished with its container (no status). Either way the container's own exit
   * says whether kdlab stopped it; a program that exited by itself is not waited on.
   */
  async #outsideKill(exitCode: number | null, owner: ExecTerminalOwner): Promise<LabErrorData | null> {
    if (this.#closedByKdlab || (exitCode !== null && exitCode !== 137)) return null;
    let timer: NodeJS.Timeout | undefined;
    const exit = await Promise.race([
      owner.exited(),
      new Promise<null>((resolve) => (timer = setTimeout(() => resolve(null), ownerExitGraceMs))),
    ]);
    clearTimeout(timer);
    return this.#closedByKdlab ? null : (exit?.reason ?? null);
  }

  static async open(
    container: Dockerode.Container,
    argv: readonly string[],
    options: Omit<ExecTerminalOptions, 'env'> & { user: string; env: string[] },
    owner: ExecTerminalOwner,
  ): Promise<ExecTerminalSource> {
    const exec = await container.exec({
      Cmd: [...argv],
      AttachStdin: true,
      AttachStdout: true,
      AttachStderr: true,
      Tty: true,
      User: options.user,
      Env: [...options.env, 'TERM=xterm-256color'],
      ...(options.cwd ? { WorkingDir: options.cwd } : {}),
    });
    const stream = await exec.start({ hijack: true, stdin: true, Tty: true });
    const source = new ExecTerminalSource(container, argv, exec, stream, owner);
    // The API (1.41) has no initial console size for exec: set it at once, as the docker CLI does.
    source.resize(options.cols, options.rows);
    return source;
  }

  /** e.g. "exec socat STDIO,raw,echo=0 UNIX-CONNECT:… in container 0123456789ab". */
  describe(): string {
    return `exec ${this.argv.join(' ')} in container ${this.containerId.slice(0, 12)}`;
  }

  onData(listener: (chunk: Uint8Array | string) => void): Disposable {
    this.#data.add(listener);
    return { dispose: () => this.#data.delete(listener) };
  }

  onExit(listener: (exit: LabTerminalExit) => void): Disposable {
    this.#exit.add(listener);
    return { dispose: () => this.#exit.delete(listener) };
  }

  write(data: string): void {
    if (!this.#ended) this.#stream.write(data);
  }

  resize(cols: number, rows: number): void {
    void this.#exec.resize({ h: rows, w: cols }).catch(() => undefined);
  }

  /** Not reading the hijacked socket lets the daemon, and then the pty inside, block: real backpressure. */
  pause(): void {
    this.#stream.pause();
  }

  resume(): void {
    this.#stream.resume();
  }

  kill(): void {
    this.#closedByKdlab = true;
    // An exec cannot be signalled through the API; closing its stdin/stream ends shells and socat,
    // and the container behind a standalone terminal is stopped by onKill.
    this.#stream.end();
    this.#stream.destroy();
    this.#onKill();
  }
}

export class DockerExecutor implements Executor {
  readonly kind = 'docker' as const;
  readonly listenHost = '0.0.0.0';
  readonly #engine: DockerEngineHandle;
  readonly #image: string;
  readonly #imageId: string;
  readonly #workspace: string;
  readonly #readOnly: string[];
  readonly #user: { uid: number; gid: number };
  readonly #remote: boolean;
  readonly #volume: string;
  readonly #job: string;
  readonly #live = new Set<Dockerode.Container>();
  /** Containers kdlab itself removes (dispose, end of a step): their death is not an outside kill. */
  readonly #retiring = new Set<string>();
  readonly #which = new Map<string, Promise<string | null>>();

  private constructor(options: DockerExecutorOptions, imageId: string) {
    this.#engine = options.engine;
    this.#image = options.image;
    this.#imageId = imageId;
    this.#workspace = options.workspace;
    this.#readOnly = options.readOnly ?? [];
    this.#user = options.user ?? { uid: process.getuid?.() ?? 0, gid: process.getgid?.() ?? 0 };
    this.#remote = options.forceRemote === true || !options.engine.isLocal;
    this.#volume =
      options.volume ??
      `kdlab-ws-${Buffer.from(options.workspace).toString('hex').slice(-24)}`.replace(/[^\w.-]/g, '');
    this.#job = (options.job ?? 'step').replace(/[^\w.-]/g, '-').slice(0, 40);
  }

  /** Checks the image is there and pins its id (it goes into cache keys and manifests). */
  static async create(options: DockerExecutorOptions): Promise<DockerExecutor> {
    const { docker, endpoint } = options.engine;
    let info: Dockerode.ImageInspectInfo;
    try {
      info = await docker.getImage(options.image).inspect();
    } catch (error) {
      if (statusOf(error) === 404)
        throw new LabError(
          'NOT_FOUND',
          `The lab image ${options.image} is not on the Docker engine at ${endpoint}.`,
          'Build it: kdlab images build toolchain (kdlab images base --debootstrap first when no base image can be pulled).',
        );
      throw dockerError(error, `Looking up the image ${options.image}`);
    }
    const executor = new DockerExecutor(options, info.Id);
    await mkdir(executor.home, { recursive: true });
    return executor;
  }

  get cacheIdentity(): string {
    return `docker:${this.#imageId}`;
  }

  get imageId(): string {
    return this.#imageId;
  }

  get remote(): boolean {
    return this.#remote;
  }

  get sharesHostFiles(): boolean {
    return !this.#remote;
  }

  /** HOME inside: a folder of the workspace, writable by the user. */
  get home(): string {
    return `${this.#workspace}/tmp/docker-home`;
  }

  describe(): string {
    const id = this.#imageId.replace(/^sha256:/, '').slice(0, 12);
    return `docker ${this.#image} (${id}) on ${this.#engine.endpoint}${this.#remote ? ' (remote: workspace in a volume)' : ''}`;
  }

  /** Looks the tool up in the image (one short container, remembered for this executor). */
  which(name: string): Promise<string | null> {
    let found = this.#which.get(name);
    if (!found) {
      found = this.run(['sh', '-c', 'command -v "$1"', 'sh', name], { timeoutMs: 30_000 }).then(
        (r) => (r.exitCode === 0 ? r.stdout.trim() || null : null),
        () => null,
      );
      this.#which.set(name, found);
    }
    return found;
  }

  get #userSpec(): string {
    return `${this.#user.uid}:${this.#user.gid}`;
  }

  #env(env?: NodeJS.ProcessEnv): string[] {
    return containerEnv(env, this.home);
  }

  async #binds(paths: StepPaths): Promise<string[]> {
    const binds = new Map<string, string>([[this.#workspace, `${this.#workspace}:${this.#workspace}`]]);
    const add = async (path: string, mode: 'ro' | 'rw') => {
      if (isInside(this.#workspace, path) || binds.has(path)) return;
      // Docker would create a missing bind source as an empty root-owned folder: never ask it to.
      if (!(await stat(path).catch(() => null))) return;
      binds.set(path, `${path}:${path}:${mode}`);
    };
    for (const path of [...this.#readOnly, ...(paths.inputs ?? [])]) await add(path, 'ro');
    for (const path of paths.outputs ?? []) await add(dirname(path), 'rw');
    return [...binds.values()];
  }

  async #create(request: CreateRequest): Promise<Dockerode.Container> {
    const { docker } = this.#engine;
    const ports = request.ports ?? [];
    const devices = request.devices ?? [];
    const groups: string[] = [];
    for (const device of devices) {
      const info = await stat(device).catch(() => null);
      if (info) groups.push(String(info.gid));
    }
    const hostConfig: Dockerode.HostConfig = {
      AutoRemove: request.autoRemove,
      ...(request.reachPort !== undefined
        ? { NetworkMode: await this.#networkReaching(request.reachPort) }
        : {}),
      // tini as PID 1: signals reach the tool, and make's children are reaped.
      Init: true,
      ...(this.#remote
        ? { Mounts: [{ Type: 'volume', Source: this.#volume, Target: this.#workspace }] }
        : { Binds: await this.#binds(request) }),
      ...(ports.length
        ? {
            PortBindings: Object.fromEntries(
              ports.map((p) => [`${p}/tcp`, [{ HostIp: '127.0.0.1', HostPort: String(p) }]]),
            ),
          }
        : {}),
      ...(devices.length
        ? {
            Devices: devices.map((d) => ({ PathOnHost: d, PathInContainer: d, CgroupPermissions: 'rwm' })),
            GroupAdd: groups,
          }
        : {}),
    };
    try {
      return await docker.createContainer({
        name: `kdlab-${this.#job}-${randomUUID().slice(0, 8)}`,
        Image: this.#imageId,
        Cmd: [...request.argv],
        User: this.#userSpec,
        WorkingDir: request.cwd ?? this.#workspace,
        Env: this.#env(request.env),
        Labels: {
          [kdlabLabel]: 'true',
          [workspaceLabel]: this.#workspace,
          [jobLabel]: this.#job,
          [ownerLabel]: `${hostname()}:${process.pid}`,
        },
        AttachStdin: request.stdin === true,
        OpenStdin: request.stdin === true,
        StdinOnce: request.stdin === true,
        AttachStdout: true,
        AttachStderr: true,
        Tty: false,
        ...(ports.length ? { ExposedPorts: Object.fromEntries(ports.map((p) => [`${p}/tcp`, {}])) } : {}),
        HostConfig: hostConfig,
      });
    } catch (error) {
      throw await engineError(this.#engine, error, `Creating a container for ${request.argv[0] ?? ''}`);
    }
  }

  /**
   * The network in which 127.0.0.1:PORT is the listener: that of the kdlab container publishing
   * PORT (its loopback is where QEMU's stub is), else the engine host's own.
   */
  async #networkReaching(port: number): Promise<string> {
    const publishing = await this.#engine.docker
      .listContainers({ filters: { label: [`${kdlabLabel}=true`], publish: [`${port}/tcp`] } })
      .catch(() => []);
    const owner = publishing[0];
    return owner ? `container:${owner.Id}` : 'host';
  }

  /** Remote engine: the step's inputs (and HOME) are copied into the container before it starts. */
  async #putInputs(container: Dockerode.Container, inputs: readonly string[]): Promise<void> {
    const present: string[] = [this.home];
    for (const path of inputs) {
      if (!(await stat(path).catch(() => null)))
        throw new LabError('NOT_FOUND', `${path} does not exist (an input of this step).`);
      present.push(path);
    }
    const tar = hostTar(['-c', '-f', '-', '-C', '/', '--', ...present.map((p) => relative('/', p))]);
    await Promise.all([
      container.putArchive(tar.out, { path: '/' }).catch(async (error: unknown) => {
        throw await engineError(this.#engine, error, 'Copying the inputs into the container');
      }),
      tar.done,
    ]);
  }

  /** Remote engine: the step's outputs are copied back once it has exited. */
  async #getOutputs(container: Dockerode.Container, outputs: readonly string[]): Promise<void> {
    for (const path of outputs) {
      let archive: NodeJS.ReadableStream;
      try {
        archive = await container.getArchive({ path });
      } catch (error) {
        if (statusOf(error) === 404) continue; // the step did not write it; its own checks say so
        throw dockerError(error, `Copying ${path} out of the container`);
      }
      await mkdir(dirname(path), { recursive: true });
      await hostTar(['-x', '-f', '-', '-C', dirname(path), '--', basename(path)], archive).done;
    }
  }

  async #remove(container: Dockerode.Container): Promise<void> {
    this.#live.delete(container);
    this.#retiring.add(container.id);
    await container.remove({ force: true }).catch(() => undefined);
  }

  async #startFailure(error: unknown, command: string, installHint?: string): Promise<LabError> {
    const message = error instanceof Error ? error.message : String(error);
    if (isDiskFull(error)) return diskFullError(this.#engine, `Starting ${command} in a container`, error);
    if (/executable file not found|no such file or directory/.test(message))
      return new LabError(
        'TOOL_MISSING',
        `${command} is not in the lab image ${this.#image}.`,
        installHint
          ? `Add it to lab-images/toolchain/Dockerfile (${installHint}) and rebuild: kdlab images build toolchain.`
          : 'Rebuild the image: kdlab images build toolchain.',
      );
    return dockerError(error, `Starting ${command} in a container`);
  }

  /**
   * The disk a step filled: a folder of this machine bound into it when the tool's complaint names a
   * path there (or names none while it worked there), else null — the container's own files, which
   * live in the engine's data root (as does a remote engine's workspace volume).
   */
  #fullDisk(stderr: string, cwd: string | undefined, outputs: readonly string[]): string | null {
    if (this.#remote) return null;
    const mounts = [this.#workspace, ...outputs.map((o) => dirname(o))];
    const named = stderr
      .split('\n')
      .filter((line) => isDiskFull(line))
      .flatMap((line) => line.match(/\/[^\s'"`:,;]+/g) ?? []);
    const inside = (path: string) => mounts.find((mount) => isInside(mount, path)) ?? null;
    if (named.length > 0) return named.map(inside).find((m) => m !== null) ?? null;
    return inside(cwd ?? this.#workspace);
  }

  /**
   * create → attach → wait(next-exit) → [putArchive] → start. The wait is registered before the
   * start so that a container removed at once (AutoRemove) still reports its status.
   */
  async #launch(request: CreateRequest, installHint?: string) {
    const command = request.argv[0] ?? '';
    const container = await this.#create(request);
    this.#live.add(container);
    try {
      const stream = (await container.attach({
        stream: true,
        stdout: true,
        stderr: true,
        ...(request.stdin ? { stdin: true, hijack: true } : {}),
      })) as Duplex;
      const stdout = new PassThrough();
      const stderr = new PassThrough();
      this.#engine.docker.modem.demuxStream(stream, stdout, stderr);
      const streamEnded = new Promise<void>((resolve) => {
        const end = () => {
          stdout.end();
          stderr.end();
          resolve();
        };
        stream.once('end', end);
        stream.once('close', end);
        stream.once('error', end);
      });
      const waited = (container.wait({ condition: 'next-exit' }) as Promise<{ StatusCode: number }>).catch(
        () => ({ StatusCode: -1 }),
      );
      if (this.#remote) await this.#putInputs(container, request.inputs ?? []);
      await container.start().catch(async (error: unknown) => {
        throw await this.#startFailure(error, command, installHint);
      });
      return { container, stream, stdout, stderr, streamEnded, waited };
    } catch (error) {
      await this.#remove(container);
      throw error;
    }
  }

  /** Why a container died under kdlab: docker kill / rm -f, a daemon restart, or OOM. */
  async #killedFromOutside(
    container: Dockerode.Container,
    command: string,
    status: number,
    lifetime: OutsideKill['lifetime'] = 'step',
  ): Promise<LabErrorData> {
    // Not yet removed (no AutoRemove, or not yet done): ask whether the memory limit killed it.
    const oomKilled = await container
      .inspect()
      .then((info) => info.State.OOMKilled)
      .catch(() => false);
    return killedFromOutside({
      command,
      containerId: container.id,
      status,
      oomKilled,
      where: this.describe(),
      lifetime,
    });
  }

  async run(argv: readonly string[], options: ExecRunOptions = {}): Promise<RunResult> {
    const [command] = argv;
    if (command === undefined) throw new LabError('BAD_REQUEST', 'Empty command line.');
    if (options.signal?.aborted) throw new LabError('CANCELLED', `${command} was cancelled.`);
    const needsOutputs = this.#remote && (options.outputs ?? []).length > 0;
    const launched = await this.#launch(
      {
        argv,
        cwd: options.cwd,
        env: options.env,
        stdin: options.input !== undefined,
        inputs: options.inputs ?? [],
        outputs: options.outputs ?? [],
        ...(options.reachPort !== undefined ? { reachPort: options.reachPort } : {}),
        autoRemove: !needsOutputs,
      },
      options.installHint,
    );
    const { container, stream, stdout, stderr, streamEnded, waited } = launched;
    const maxCapture = options.maxCaptureBytes ?? 4 * 1024 * 1024;
    const captured: Record<'stdout' | 'stderr', Buffer[]> = { stdout: [], stderr: [] };
    const capturedBytes = { stdout: 0, stderr: 0 };
    const collect = (name: 'stdout' | 'stderr') => (chunk: Buffer) => {
      if (name === 'stdout' && options.stdoutFd !== undefined) {
        writeSync(options.stdoutFd, chunk);
        return;
      }
      options.onOutput?.(chunk, name);
      if (capturedBytes[name] < maxCapture) {
        captured[name].push(chunk);
        capturedBytes[name] += chunk.length;
      }
    };
    stdout.on('data', collect('stdout'));
    stderr.on('data', collect('stderr'));
    if (options.input !== undefined) stream.end(options.input);

    let cancelled = false;
    let timedOut = false;
    const stop = () => void container.kill().catch(() => undefined);
    const onAbort = () => {
      cancelled = true;
      stop();
    };
    options.signal?.addEventListener('abort', onAbort, { once: true });
    const timer =
      options.timeoutMs === undefined
        ? undefined
        : setTimeout(() => {
            timedOut = true;
            stop();
          }, options.timeoutMs);
    try {
      const { StatusCode } = await waited;
      await streamEnded;
      if (cancelled) throw new LabError('CANCELLED', `${command} was cancelled.`);
      // SIGKILL (128+9) we did not send, or a container gone before it could report: killed from outside.
      if (!timedOut && (StatusCode === 137 || StatusCode === -1))
        throw LabError.fromData(await this.#killedFromOutside(container, command, StatusCode));
      const stderrText = Buffer.concat(captured.stderr).toString('utf8');
      // tini (PID 1) could not exec the tool: the image lacks it.
      if (StatusCode === 127 && /\[FATAL tini \(\d+\)\] exec .* failed: No such file/.test(stderrText))
        throw await this.#startFailure(new Error('executable file not found'), command, options.installHint);
      // A tool that ran out of disk failed for a reason no caller can fix by reading its exit code:
      // say which disk is full (a bound workspace folder, or the engine's data root).
      if (StatusCode !== 0 && !timedOut && isDiskFull(stderrText)) {
        const full = this.#fullDisk(stderrText, options.cwd, options.outputs ?? []);
        throw await diskFullError(
          this.#engine,
          `${command} failed (exit ${StatusCode}, ${this.describe()})`,
          stderrText,
          full ?? undefined,
        );
      }
      if (needsOutputs) await this.#getOutputs(container, options.outputs ?? []);
      return {
        exitCode: StatusCode,
        signal: timedOut ? 'SIGKILL' : null,
        timedOut,
        stdout: Buffer.concat(captured.stdout).toString('utf8'),
        stderr: stderrText,
      };
    } finally {
      clearTimeout(timer);
      options.signal?.removeEventListener('abort', onAbort);
      await this.#remove(container);
    }
  }

  async spawn(argv: readonly string[], options: ExecSpawnOptions = {}): Promise<LabProcess> {
    return (await this.#spawn(argv, options)).process;
  }

  /** `command` names the process in an outside-kill message (a terminal's program, not its keep-alive). */
  async #spawn(
    argv: readonly string[],
    options: ExecSpawnOptions,
    command = argv[0] ?? '',
  ): Promise<{ process: LabProcess; container: Dockerode.Container }> {
    const launched = await this.#launch(
      {
        argv,
        cwd: options.cwd,
        env: options.env,
        stdin: options.stdin === true,
        inputs: options.inputs ?? [],
        outputs: options.outputs ?? [],
        ...(options.reachPort !== undefined ? { reachPort: options.reachPort } : {}),
        ports: options.ports,
        devices: options.devices,
        // Removed by exited below, once inspect has said whether the OOM killer ended it (AutoRemove
        // would race that); a container left by a kdlab that died is cleanupLeftovers' job.
        autoRemove: false,
      },
      options.installHint,
    );
    const { container, stream, stdout, stderr, streamEnded, waited } = launched;
    let killed = false;
    const exited = (async (): Promise<LabExit> => {
      const { StatusCode } = await waited;
      await streamEnded;
      // SIGKILL (137) kdlab did not send, or a container gone before it could report (-1).
      const outside =
        !killed && !this.#retiring.has(container.id) && (StatusCode === 137 || StatusCode === -1);
      const reason = outside
        ? await this.#killedFromOutside(container, command, StatusCode, 'long-lived')
        : undefined;
      if (this.#remote && (options.outputs ?? []).length > 0)
        await this.#getOutputs(container, options.outputs ?? []).catch(() => undefined);
      await this.#remove(container);
      if (killed) return { exitCode: null, signal: 'SIGTERM' };
      return reason ? { exitCode: StatusCode, signal: null, reason } : { exitCode: StatusCode, signal: null };
    })();
    const env = this.#env(options.env);
    const labProcess: LabProcess = {
      pid: null,
      stdin: options.stdin ? stream : null,
      stdout,
      stderr,
      wait: () => exited,
      kill: () => {
        if (killed) return;
        killed = true;
        // SIGTERM, then SIGKILL after 2 s: like terminateTree, for the whole container.
        void container.stop({ t: 2 }).catch(() => undefined);
      },
      openTerminal: (termArgv, termOptions) =>
        ExecTerminalSource.open(
          container,
          termArgv,
          { ...termOptions, user: this.#userSpec, env: termOptions.env ? this.#env(termOptions.env) : env },
          // The process (QEMU) reports an outside kill itself; its console log stays the guest's.
          { exited: () => exited, announce: false, onEnd: () => undefined },
        ),
    };
    return { process: labProcess, container };
  }

  /** A terminal on its own: a keep-alive container, the program as an exec in it, stopped with it. */
  async openTerminal(argv: readonly string[], options: ExecTerminalOptions): Promise<TerminalSource> {
    const { process: keeper, container } = await this.#spawn(
      ['tail', '-f', '/dev/null'],
      {
        ...(options.cwd ? { cwd: options.cwd } : {}),
        inputs: options.inputs ?? [],
        outputs: options.outputs ?? [],
        ...(options.reachPort !== undefined ? { reachPort: options.reachPort } : {}),
      },
      argv[0] ?? '',
    );
    try {
      const env = this.#env(options.env);
      return await ExecTerminalSource.open(
        container,
        argv,
        { ...options, user: this.#userSpec, env },
        { exited: () => keeper.wait(), announce: true, onEnd: () => keeper.kill() },
      );
    } catch (error) {
      keeper.kill();
      throw dockerError(error, `Opening a terminal for ${argv[0] ?? ''}`);
    }
  }

  /**
   * Removes the containers of this workspace left behind by kdlab processes that are gone (a crash,
   * a kill -9); containers of live kdlab processes — another window, another test — are left alone.
   */
  async cleanupLeftovers(): Promise<string[]> {
    return cleanupLeftovers(this.#engine, this.#workspace);
  }

  async dispose(): Promise<void> {
    await Promise.all([...this.#live].map((c) => this.#remove(c)));
  }
}

function ownerAlive(owner: string | undefined): boolean {
  if (!owner) return false;
  const [host, pid] = owner.split(':');
  if (host !== hostname()) return true; // another machine's: not ours to judge
  try {
    process.kill(Number(pid), 0);
    return true;
  } catch (error) {
    return (error as NodeJS.ErrnoException).code === 'EPERM';
  }
}

export async function cleanupLeftovers(engine: DockerEngineHandle, workspace: string): Promise<string[]> {
  let list: Dockerode.ContainerInfo[];
  try {
    list = await engine.docker.listContainers({
      all: true,
      filters: { label: [`${kdlabLabel}=true`, `${workspaceLabel}=${workspace}`] },
    });
  } catch (error) {
    throw dockerError(error, 'Listing kdlab containers');
  }
  const removed: string[] = [];
  for (const info of list) {
    if (ownerAlive(info.Labels[ownerLabel])) continue;
    await engine.docker
      .getContainer(info.Id)
      .remove({ force: true })
      .then(() => removed.push(info.Id))
      .catch(() => undefined);
  }
  return removed;
}
