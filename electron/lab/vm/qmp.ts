// A minimal QMP client over QEMU's unix socket: capabilities handshake, then commands, one at a time.
import { createConnection } from 'node:net';
import type { Socket } from 'node:net';
import { LabError } from '../../common/errors';

interface Pending {
  resolve: (value: unknown) => void;
  reject: (error: Error) => void;
}

export class QmpClient {
  #socket: Socket | null = null;
  #buffer = '';
  #queue: Pending[] = [];
  readonly events: { event: string; data?: unknown }[] = [];

  static async connect(path: string, timeoutMs = 10_000): Promise<QmpClient> {
    const client = new QmpClient();
    const deadline = Date.now() + timeoutMs;
    for (;;) {
      try {
        await client.#open(path);
        break;
      } catch (error) {
        if (Date.now() > deadline)
          throw new LabError(
            'TIMEOUT',
            `QEMU's QMP socket ${path} did not answer: ${(error as Error).message}`,
          );
        await new Promise((r) => setTimeout(r, 50));
      }
    }
    await client.execute('qmp_capabilities');
    return client;
  }

  #open(path: string): Promise<void> {
    return new Promise((resolve, reject) => {
      const socket = createConnection(path);
      let greeted = false;
      socket.setEncoding('utf8');
      socket.once('error', reject);
      socket.on('data', (text: string) => {
        this.#buffer += text;
        let newline: number;
        while ((newline = this.#buffer.indexOf('\n')) >= 0) {
          const line = this.#buffer.slice(0, newline).trim();
          this.#buffer = this.#buffer.slice(newline + 1);
          if (!line) continue;
          const message = JSON.parse(line) as {
            QMP?: unknown;
            return?: unknown;
            error?: { desc: string };
            event?: string;
            data?: unknown;
          };
          if (message.QMP && !greeted) {
            greeted = true;
            socket.off('error', reject);
            socket.on('error', () =>
              this.#failAll(new LabError('UNAVAILABLE', 'QEMU closed its QMP socket.')),
            );
            this.#socket = socket;
            resolve();
          } else if (message.event) this.events.push({ event: message.event, data: message.data });
          else {
            const pending = this.#queue.shift();
            if (message.error) pending?.reject(new LabError('IO', `QMP: ${message.error.desc}`));
            else pending?.resolve(message.return);
          }
        }
      });
      socket.on('close', () => {
        if (this.#socket === socket) this.#socket = null;
        this.#failAll(new LabError('UNAVAILABLE', 'QEMU exited.'));
      });
    });
  }

  execute(command: string, args?: Record<string, unknown>): Promise<unknown> {
    const socket = this.#socket;
    // A guest that panicked with panic=-1 under -no-reboot is gone: say so instead of waiting forever.
    if (!socket || socket.destroyed)
      return Promise.reject(new LabError('UNAVAILABLE', 'QMP is not connected (QEMU has exited).'));
    return new Promise((resolve, reject) => {
      this.#queue.push({ resolve, reject });
      socket.write(
        `${JSON.stringify(args ? { execute: command, arguments: args } : { execute: command })}\n`,
      );
    });
  }

  close(): void {
    this.#socket?.destroy();
    this.#socket = null;
  }

  #failAll(error: Error): void {
    for (const pending of this.#queue.splice(0)) pending.reject(error);
  }
}
