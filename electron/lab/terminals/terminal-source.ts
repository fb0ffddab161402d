// The one interface every terminal back end implements: node-pty (shell, gdb, crash), and later
// the QEMU serial socket and Docker exec streams.

export interface Disposable {
  dispose(): void;
}

export interface TerminalExit {
  exitCode: number | null;
  signal: number | null;
}

export interface TerminalSource {
  readonly pid: number | null;
  /** Raw bytes (or already-decoded text); the output pump decodes UTF-8 across chunk boundaries. */
  onData(listener: (chunk: Uint8Array | string) => void): Disposable;
  onExit(listener: (exit: TerminalExit) => void): Disposable;
  write(data: string): void;
  resize(cols: number, rows: number): void;
  pause(): void;
  resume(): void;
  kill(signal?: string): void;
}
