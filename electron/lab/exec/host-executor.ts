// The host executor: a thin layer over process.ts and node-pty, so running "on the host" through
// the Executor interface behaves exactly as the direct calls did.
import { PassThrough } from 'node:stream';
import type { Readable } from 'node:stream';
import { LabError } from '../../common/errors';
import { findExecutable, runCommand, spawnTree, terminateTree } from '../process';
import type { RunResult } from '../process';
import { PtyTerminalSource } from '../terminals/pty-source';
import type { TerminalSource } from '../terminals/terminal-source';
import type {
  ExecRunOptions,
  ExecSpawnOptions,
  ExecTerminalOptions,
  Executor,
  LabExit,
  LabProcess,
} from './executor';

function hostTerminal(argv: readonly string[], options: ExecTerminalOptions): TerminalSource {
  const [command, ...args] = argv;
  if (command === undefined) throw new LabError('BAD_REQUEST', 'Empty command line.');
  const env = options.env ?? process.env;
  const file = findExecutable(command, env);
  if (!file) throw new LabError('TOOL_MISSING', `${command} is not installed (not found on PATH).`);
  return new PtyTerminalSource({
    file,
    args,
    cwd: options.cwd ?? process.cwd(),
    env: { ...env, TERM: 'xterm-256color' },
    cols: options.cols,
    rows: options.rows,
  });
}

export class HostExecutor implements Executor {
  readonly kind = 'host' as const;
  readonly cacheIdentity = null;
  readonly listenHost = '127.0.0.1';
  readonly sharesHostFiles = true;

  describe(): string {
    return 'host';
  }

  which(name: string): Promise<string | null> {
    return Promise.resolve(findExecutable(name));
  }

  run(argv: readonly string[], options: ExecRunOptions = {}): Promise<RunResult> {
    // The host sees every path already: inputs/outputs need no copying.
    const { inputs: _inputs, outputs: _outputs, reachPort: _reachPort, ...rest } = options;
    return runCommand(argv, rest);
  }

  spawn(argv: readonly string[], options: ExecSpawnOptions = {}): Promise<LabProcess> {
    const [command] = argv;
    if (command === undefined) return Promise.reject(new LabError('BAD_REQUEST', 'Empty command line.'));
    const resolved = findExecutable(command, options.env ?? process.env);
    if (!resolved)
      return Promise.reject(
        new LabError(
          'TOOL_MISSING',
          `${command} is not installed (not found on PATH).`,
          options.installHint ?? null,
        ),
      );
    const child = spawnTree([resolved, ...argv.slice(1)], {
      ...(options.cwd ? { cwd: options.cwd } : {}),
      env: options.env ?? process.env,
      stdio: [options.stdin ? 'pipe' : 'ignore', 'pipe', 'pipe'],
    });
    const exited = new Promise<LabExit>((resolve) => {
      child.once('close', (exitCode, signal) => resolve({ exitCode, signal }));
      child.once('error', () => resolve({ exitCode: null, signal: null }));
    });
    // An 'error' (spawn failure) must not go unhandled; it ends the process with no status.
    child.on('error', () => undefined);
    const stream = (s: Readable | null): Readable => s ?? new PassThrough().end();
    const labProcess: LabProcess = {
      pid: child.pid ?? null,
      stdin: child.stdin,
      stdout: stream(child.stdout),
      stderr: stream(child.stderr),
      wait: () => exited,
      kill: () => terminateTree(child),
      openTerminal: (termArgv, termOptions) =>
        new Promise<TerminalSource>((resolve) => resolve(hostTerminal(termArgv, termOptions))),
    };
    return Promise.resolve(labProcess);
  }

  openTerminal(argv: readonly string[], options: ExecTerminalOptions): Promise<TerminalSource> {
    return new Promise<TerminalSource>((resolve) => resolve(hostTerminal(argv, options)));
  }

  dispose(): Promise<void> {
    return Promise.resolve();
  }
}

export const hostExecutor: Executor = new HostExecutor();
