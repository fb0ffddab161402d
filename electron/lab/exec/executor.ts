// Where the lab's tools run: on the host, or inside a lab container. Services take an Executor
// (default: the host one) instead of calling process.ts directly, so the same kernel build, image
// packaging, QEMU, gdb and crash code runs in either place.
import type { Readable, Writable } from 'node:stream';
import type { LabErrorData } from '../../common/errors';
import type { RunOptions, RunResult } from '../process';
import type { TerminalExit, TerminalSource } from '../terminals/terminal-source';

export type ExecutorKind = 'host' | 'docker';
export const executorKinds: readonly ExecutorKind[] = ['host', 'docker'];

/** Paths a step reads and writes, beyond the workspace (which every executor sees at its own path). */
export interface StepPaths {
  /** Files or folders read: bind-mounted read-only (local engine) or copied in (remote engine). */
  inputs?: string[];
  /** Files or folders written: copied back after the step (remote engine). */
  outputs?: string[];
  /**
   * A TCP port another step listens on that this one connects to at 127.0.0.1 (gdb → QEMU's stub).
   * The host sees it there already; a container joins the network of the container publishing it.
   */
  reachPort?: number;
}

export type ExecRunOptions = RunOptions & StepPaths;

export interface ExecSpawnOptions extends StepPaths {
  cwd?: string;
  env?: NodeJS.ProcessEnv;
  /** Keep stdin open as a pipe (crash is fed on stdin); otherwise stdin is closed. */
  stdin?: boolean;
  /** TCP ports a process listens on that the host must reach (gdb stub): published on 127.0.0.1. */
  ports?: number[];
  /** Host devices passed in (e.g. /dev/kvm, only when KVM works). */
  devices?: string[];
  installHint?: string;
}

export interface ExecTerminalOptions extends StepPaths {
  cwd?: string;
  env?: NodeJS.ProcessEnv;
  cols: number;
  rows: number;
}

export interface LabExit {
  exitCode: number | null;
  signal: NodeJS.Signals | null;
  /**
   * Set when something outside kdlab ended it (Docker: its container killed or removed, a daemon
   * restart, the OOM killer): what happened and what to do. Never set for a kill kdlab sent.
   */
  reason?: LabErrorData;
}

/** A terminal's exit with the same reason (Docker exec terminals); TerminalExit listeners may ignore it. */
export interface LabTerminalExit extends TerminalExit {
  reason?: LabErrorData;
}

/** A long-lived process (QEMU, an interactive crash): streams, its end, and a kill that takes everything it started. */
export interface LabProcess {
  /** The host pid (host executor), or null (the process is in a container). */
  readonly pid: number | null;
  readonly stdin: Writable | null;
  readonly stdout: Readable;
  readonly stderr: Readable;
  /** Resolves once the process (and, for Docker, its container) is gone. */
  wait(): Promise<LabExit>;
  /** Terminates the whole tree (host) or the container (Docker). Safe to call more than once. */
  kill(): void;
  /** A terminal running `argv` beside the process (host: a new pty; Docker: an exec in its container). */
  openTerminal(argv: readonly string[], options: ExecTerminalOptions): Promise<TerminalSource>;
}

export interface Executor {
  readonly kind: ExecutorKind;
  /** What ran a step, for job logs, manifests and the UI: "host", or "docker kdlab/toolchain@sha256:… on unix:///var/run/docker.sock". */
  describe(): string;
  /** Identity for cache keys: null on the host (keys stay as they were), else the engine and image id. */
  readonly cacheIdentity: string | null;
  /** Files (and unix sockets) on this machine are the ones the processes see: false for a remote engine. */
  readonly sharesHostFiles: boolean;
  /** The address a process inside must listen on for the host to reach a published port. */
  readonly listenHost: string;
  /** The tool's path where it would run, or null when it is not there. */
  which(name: string): Promise<string | null>;
  run(argv: readonly string[], options?: ExecRunOptions): Promise<RunResult>;
  spawn(argv: readonly string[], options?: ExecSpawnOptions): Promise<LabProcess>;
  openTerminal(argv: readonly string[], options: ExecTerminalOptions): Promise<TerminalSource>;
  dispose(): Promise<void>;
}

/** "make -C … failed" reads better with where it ran when that is not the host. */
export function ranWhere(executor: Pick<Executor, 'kind' | 'describe'>): string {
  return executor.kind === 'host' ? '' : ` (in ${executor.describe()})`;
}
