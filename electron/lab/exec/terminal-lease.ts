// A terminal that owns the executor it runs in: when the program exits or the terminal is killed,
// the executor is disposed (Docker: whatever container it still holds is removed).
import type { Disposable, TerminalExit, TerminalSource } from '../terminals/terminal-source';
import type { Executor } from './executor';

class LeasedTerminal implements TerminalSource {
  #released = false;

  constructor(
    private readonly source: TerminalSource,
    private readonly executor: Executor,
  ) {
    source.onExit(() => this.#release());
  }

  get pid(): number | null {
    return this.source.pid;
  }

  #release(): void {
    if (this.#released) return;
    this.#released = true;
    void this.executor.dispose().catch(() => undefined);
  }

  onData(listener: (chunk: Uint8Array | string) => void): Disposable {
    return this.source.onData(listener);
  }

  onExit(listener: (exit: TerminalExit) => void): Disposable {
    return this.source.onExit(listener);
  }

  write(data: string): void {
    this.source.write(data);
  }

  resize(cols: number, rows: number): void {
    this.source.resize(cols, rows);
  }

  pause(): void {
    this.source.pause();
  }

  resume(): void {
    this.source.resume();
  }

  kill(signal?: string): void {
    this.source.kill(signal);
    this.#release();
  }
}

export function disposeWithTerminal(source: TerminalSource, executor: Executor): TerminalSource {
  return executor.kind === 'host' ? source : new LeasedTerminal(source, executor);
}
