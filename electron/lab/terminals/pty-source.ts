// node-pty behind the TerminalSource interface.
import * as pty from 'node-pty';
import type { Disposable, TerminalExit, TerminalSource } from './terminal-source';

export interface PtySpawnOptions {
  file: string;
  args: string[];
  cwd: string;
  env: NodeJS.ProcessEnv;
  cols: number;
  rows: number;
}

export class PtyTerminalSource implements TerminalSource {
  readonly #pty: pty.IPty;

  constructor(options: PtySpawnOptions) {
    const env: Record<string, string> = {};
    for (const [key, value] of Object.entries(options.env)) if (value !== undefined) env[key] = value;
    this.#pty = pty.spawn(options.file, options.args, {
      name: 'xterm-256color',
      cols: options.cols,
      rows: options.rows,
      cwd: options.cwd,
      env,
      // Raw bytes: decoding happens once, in the output pump, with a streaming decoder.
      encoding: null,
    });
  }

  get pid(): number | null {
    return this.#pty.pid;
  }

  onData(listener: (chunk: Uint8Array | string) => void): Disposable {
    return this.#pty.onData(listener as (data: string) => void);
  }

  onExit(listener: (exit: TerminalExit) => void): Disposable {
    return this.#pty.onExit(({ exitCode, signal }) =>
      listener({ exitCode: exitCode ?? null, signal: signal ? signal : null }),
    );
  }

  write(data: string): void {
    this.#pty.write(data);
  }

  resize(cols: number, rows: number): void {
    this.#pty.resize(cols, rows);
  }

  pause(): void {
    this.#pty.pause();
  }

  resume(): void {
    this.#pty.resume();
  }

  kill(signal?: string): void {
    try {
      this.#pty.kill(signal);
    } catch {
      // already exited
    }
  }
}
