// The guest's serial console (a QEMU chardev unix socket) behind the common TerminalSource interface.
import { createConnection } from 'node:net';
import type { Socket } from 'node:net';
import { LabError } from '../../common/errors';
import type { Disposable, TerminalExit, TerminalSource } from '../terminals/terminal-source';

export class SerialSocketSource implements TerminalSource {
  readonly pid = null;
  readonly #socket: Socket;
  readonly #data = new Set<(chunk: Uint8Array | string) => void>();
  readonly #exit = new Set<(exit: TerminalExit) => void>();

  private constructor(socket: Socket) {
    this.#socket = socket;
    socket.on('data', (chunk: Buffer) => {
      for (const listener of this.#data) listener(chunk);
    });
    socket.on('close', () => {
      for (const listener of this.#exit) listener({ exitCode: 0, signal: null });
    });
    socket.on('error', () => undefined);
  }

  static async connect(path: string, timeoutMs = 10_000): Promise<SerialSocketSource> {
    const deadline = Date.now() + timeoutMs;
    for (;;) {
      try {
        const socket = await new Promise<Socket>((resolve, reject) => {
          const s = createConnection(path);
          s.once('connect', () => resolve(s));
          s.once('error', reject);
        });
        return new SerialSocketSource(socket);
      } catch (error) {
        if (Date.now() > deadline) {
          throw new LabError(
            'TIMEOUT',
            `The guest's serial socket ${path} did not open: ${(error as Error).message}`,
          );
        }
        await new Promise((r) => setTimeout(r, 25));
      }
    }
  }

  onData(listener: (chunk: Uint8Array | string) => void): Disposable {
    this.#data.add(listener);
    return { dispose: () => this.#data.delete(listener) };
  }

  onExit(listener: (exit: TerminalExit) => void): Disposable {
    this.#exit.add(listener);
    return { dispose: () => this.#exit.delete(listener) };
  }

  /** Serial lines want carriage returns (kdb and busybox sh both read \r as Enter). */
  write(data: string): void {
    this.#socket.write(data);
  }

  resize(): void {
    // A serial line has no window size.
  }

  pause(): void {
    this.#socket.pause();
  }

  resume(): void {
    this.#socket.resume();
  }

  kill(): void {
    this.#socket.destroy();
  }
}
