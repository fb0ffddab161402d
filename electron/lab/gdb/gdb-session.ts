// gdb on a guest's stub: `gdb vmlinux` with the build's vmlinux-gdb.py allowed by
// add-auto-load-safe-path (so lx-dmesg, lx-ps, lx-symbols load), then `target remote :PORT`.
// The argv is built by a pure function; the interactive session runs under node-pty, and a batch
// mode (one gdb process, commands in order) serves recipes, the CLI's --batch and tests.
import { dirname } from 'node:path';
import { stat } from 'node:fs/promises';
import { LabError } from '../../common/errors';
import type { Executor } from '../exec/executor';
import { hostExecutor } from '../exec/host-executor';
import type { TerminalSource } from '../terminals/terminal-source';

export interface GdbTarget {
  vmlinux: string;
  /** vmlinux-gdb.py from the kernel build; its folder is allowed for auto-loading. */
  gdbScript?: string | null;
  port: number;
  host?: string;
}

/** The common commands of the Debugger view and their meaning (shown as buttons). */
export const gdbQuickCommands = [
  { command: 'bt', title: 'Backtrace' },
  { command: 'info registers', title: 'Registers' },
  { command: 'lx-dmesg', title: 'Kernel log' },
  { command: 'lx-ps', title: 'Tasks' },
  { command: 'continue', title: 'Continue' },
  { command: 'hbreak start_kernel', title: 'Break at start_kernel' },
] as const;

export function gdbArgv(target: GdbTarget, options: { batch?: string[] } = {}): string[] {
  const argv = ['gdb', '-q', '-nx'];
  if (options.batch) argv.push('-batch');
  if (target.gdbScript) {
    argv.push('-iex', `add-auto-load-safe-path ${dirname(target.gdbScript)}`);
  }
  // A kernel is not a userspace program: no confirmation prompts, no pager in the terminal.
  argv.push('-iex', 'set confirm off', '-iex', 'set pagination off');
  argv.push('-ex', `target remote ${target.host ?? '127.0.0.1'}:${target.port}`);
  for (const command of options.batch ?? []) argv.push('-ex', command);
  argv.push(target.vmlinux);
  return argv;
}

async function check(target: GdbTarget, executor: Executor): Promise<string> {
  const gdb = await executor.which('gdb');
  if (!gdb) throw new LabError('TOOL_MISSING', 'gdb is not installed.', 'apt-get install -y gdb');
  if (!(await stat(target.vmlinux).catch(() => null)))
    throw new LabError(
      'NOT_FOUND',
      `${target.vmlinux} does not exist.`,
      'gdb needs the vmlinux with debug info of the kernel the guest runs (kdlab kernel build prints it).',
    );
  return gdb;
}

/** What gdb reads, and the stub it reaches at 127.0.0.1 (a container needs both). */
function gdbPaths(target: GdbTarget): { inputs: string[]; reachPort?: number } {
  return {
    inputs: [target.vmlinux, ...(target.gdbScript ? [dirname(target.gdbScript)] : [])],
    ...(target.host === undefined || target.host === '127.0.0.1' ? { reachPort: target.port } : {}),
  };
}

/** An interactive gdb in a pseudo-terminal, ready to plug into the terminal service. */
export async function openGdbTerminal(
  target: GdbTarget,
  size: { cols: number; rows: number },
  env: NodeJS.ProcessEnv = process.env,
  executor: Executor = hostExecutor,
): Promise<{ source: TerminalSource; argv: string[]; title: string }> {
  const gdb = await check(target, executor);
  const argv = gdbArgv(target);
  const source = await executor.openTerminal([gdb, ...argv.slice(1)], {
    cwd: dirname(target.vmlinux),
    env: { ...env, TERM: 'xterm-256color' },
    cols: size.cols,
    rows: size.rows,
    ...gdbPaths(target),
  });
  const where = executor.kind === 'host' ? '' : ` (${executor.kind})`;
  return { source, argv, title: `gdb :${target.port}${where}` };
}

/** Runs commands in one gdb process and returns what it printed. */
export async function runGdbBatch(
  target: GdbTarget,
  commands: string[],
  options: { timeoutMs?: number; signal?: AbortSignal; executor?: Executor } = {},
): Promise<{ output: string; exitCode: number | null }> {
  const executor = options.executor ?? hostExecutor;
  await check(target, executor);
  const argv = gdbArgv(target, { batch: commands });
  const result = await executor.run(argv, {
    ...gdbPaths(target),
    timeoutMs: options.timeoutMs ?? 120_000,
    ...(options.signal ? { signal: options.signal } : {}),
    installHint: 'apt-get install -y gdb',
  });
  const output = `${result.stdout}${result.stderr}`;
  if (/Connection refused|Connection timed out/.test(output))
    throw new LabError(
      'UNAVAILABLE',
      `gdb could not connect to the stub on port ${target.port}: ${/(Connection \w+)/.exec(output)?.[1] ?? ''}.`,
      'Boot the guest with the gdb stub (kdlab boot --gdb) and use the port it prints.',
    );
  return { output, exitCode: result.exitCode };
}
