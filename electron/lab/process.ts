// Child processes: argv arrays only (never a shell string), whole-tree cancellation, timeouts,
// and a missing binary reported as TOOL_MISSING with the command that installs it.
import { spawn } from 'node:child_process';
import type { ChildProcess, SpawnOptions } from 'node:child_process';
import { accessSync, constants } from 'node:fs';
import { delimiter, join } from 'node:path';
import { LabError } from '../common/errors';

export interface RunOptions {
  cwd?: string;
  env?: NodeJS.ProcessEnv;
  signal?: AbortSignal;
  timeoutMs?: number;
  input?: string | Buffer;
  /** Called with every chunk of stdout and stderr as it arrives. */
  onOutput?: (chunk: Buffer, stream: 'stdout' | 'stderr') => void;
  /** Output kept in the result is capped (the rest still reaches onOutput). */
  maxCaptureBytes?: number;
  /** How to install the tool when it is missing, e.g. `apt-get install -y gdb`. */
  installHint?: string;
  /** Send stdout (binary-safe) to this open file descriptor instead of capturing it. */
  stdoutFd?: number;
}

export interface RunResult {
  exitCode: number | null;
  signal: NodeJS.Signals | null;
  stdout: string;
  stderr: string;
  timedOut: boolean;
}

const killGraceMs = 2_000;

/** Sends a signal to the child's whole process group (it was spawned detached, as its leader). */
export function killTree(child: ChildProcess, signal: NodeJS.Signals = 'SIGTERM'): void {
  if (child.pid === undefined || child.exitCode !== null || child.signalCode !== null) return;
  try {
    process.kill(-child.pid, signal);
  } catch {
    try {
      child.kill(signal);
    } catch {
      // already gone
    }
  }
}

/** Terminates a process tree: SIGTERM, then SIGKILL if it is still there after a grace period. */
export function terminateTree(child: ChildProcess): void {
  killTree(child, 'SIGTERM');
  const timer = setTimeout(() => killTree(child, 'SIGKILL'), killGraceMs);
  timer.unref();
  child.once('exit', () => clearTimeout(timer));
}

/** Extra directories searched for tools that Debian installs under sbin (kexec, makedumpfile). */
const sbinDirs = ['/usr/local/sbin', '/usr/sbin', '/sbin'];

export function findExecutable(name: string, env: NodeJS.ProcessEnv = process.env): string | null {
  if (name.includes('/')) return isExecutable(name) ? name : null;
  const dirs = [...(env.PATH ?? '').split(delimiter).filter(Boolean), ...sbinDirs];
  for (const dir of dirs) {
    const candidate = join(dir, name);
    if (isExecutable(candidate)) return candidate;
  }
  return null;
}

export function isExecutable(path: string): boolean {
  try {
    accessSync(path, constants.X_OK);
    return true;
  } catch {
    return false;
  }
}

export function spawnTree(argv: readonly string[], options: SpawnOptions = {}): ChildProcess {
  const [command, ...args] = argv;
  if (command === undefined) throw new LabError('BAD_REQUEST', 'Empty command line.');
  return spawn(command, args, { ...options, detached: true });
}

export function runCommand(argv: readonly string[], options: RunOptions = {}): Promise<RunResult> {
  const [command] = argv;
  if (command === undefined) return Promise.reject(new LabError('BAD_REQUEST', 'Empty command line.'));
  if (options.signal?.aborted) return Promise.reject(new LabError('CANCELLED', `${command} was cancelled.`));
  const resolved = findExecutable(command, options.env ?? process.env);
  if (!resolved) {
    return Promise.reject(
      new LabError(
        'TOOL_MISSING',
        `${command} is not installed (not found on PATH).`,
        options.installHint ?? null,
      ),
    );
  }
  const maxCapture = options.maxCaptureBytes ?? 4 * 1024 * 1024;
  return new Promise<RunResult>((resolve, reject) => {
    const child = spawnTree([resolved, ...argv.slice(1)], {
      cwd: options.cwd,
      env: options.env ?? process.env,
      stdio: [options.input === undefined ? 'ignore' : 'pipe', options.stdoutFd ?? 'pipe', 'pipe'],
    });
    const captured: Record<'stdout' | 'stderr', Buffer[]> = { stdout: [], stderr: [] };
    const capturedBytes = { stdout: 0, stderr: 0 };
    let timedOut = false;
    let cancelled = false;

    const collect = (stream: 'stdout' | 'stderr') => (chunk: Buffer) => {
      options.onOutput?.(chunk, stream);
      if (capturedBytes[stream] < maxCapture) {
        captured[stream].push(chunk);
        capturedBytes[stream] += chunk.length;
      }
    };
    child.stdout?.on('data', collect('stdout'));
    child.stderr?.on('data', collect('stderr'));
    if (options.input !== undefined) child.stdin?.end(options.input);

    const onAbort = () => {
      cancelled = true;
      terminateTree(child);
    };
    options.signal?.addEventListener('abort', onAbort, { once: true });
    const timer =
      options.timeoutMs === undefined
        ? undefined
        : setTimeout(() => {
            timedOut = true;
            terminateTree(child);
          }, options.timeoutMs);

    child.once('error', (error) => {
      clearTimeout(timer);
      options.signal?.removeEventListener('abort', onAbort);
      reject(new LabError('IO', `Could not start ${command}: ${error.message}`, options.installHint ?? null));
    });
    child.once('close', (exitCode, signal) => {
      clearTimeout(timer);
      options.signal?.removeEventListener('abort', onAbort);
      // The leader is gone; make sure nothing it started outlives it.
      killTree(child, 'SIGKILL');
      if (cancelled) {
        reject(new LabError('CANCELLED', `${command} was cancelled.`));
        return;
      }
      resolve({
        exitCode,
        signal,
        timedOut,
        stdout: Buffer.concat(captured.stdout).toString('utf8'),
        stderr: Buffer.concat(captured.stderr).toString('utf8'),
      });
    });
  });
}
