// Terminal output on its way to the UI: streaming UTF-8 decoding (a character split across chunks
// is held back, never mangled), batching to one message per frame, and ack-based backpressure.
import { StringDecoder } from 'node:string_decoder';
import { terminalFlow } from '../../common/types';
import type { TerminalSource } from './terminal-source';

export interface OutputPumpOptions {
  emit: (data: string) => void;
  batchIntervalMs?: number;
  batchMaxChars?: number;
  highWatermarkChars?: number;
  lowWatermarkChars?: number;
}

export class OutputPump {
  readonly #source: Pick<TerminalSource, 'pause' | 'resume'>;
  readonly #emit: (data: string) => void;
  readonly #decoder = new StringDecoder('utf8');
  readonly #intervalMs: number;
  readonly #maxChars: number;
  readonly #high: number;
  readonly #low: number;
  #pending: string[] = [];
  #pendingChars = 0;
  #timer: NodeJS.Timeout | null = null;
  #unacked = 0;
  #paused = false;
  #totalChars = 0;

  constructor(source: Pick<TerminalSource, 'pause' | 'resume'>, options: OutputPumpOptions) {
    this.#source = source;
    this.#emit = options.emit;
    this.#intervalMs = options.batchIntervalMs ?? terminalFlow.batchIntervalMs;
    this.#maxChars = options.batchMaxChars ?? terminalFlow.batchMaxChars;
    this.#high = options.highWatermarkChars ?? terminalFlow.highWatermarkChars;
    this.#low = options.lowWatermarkChars ?? terminalFlow.lowWatermarkChars;
  }

  get unacknowledged(): number {
    return this.#unacked;
  }

  get paused(): boolean {
    return this.#paused;
  }

  get totalChars(): number {
    return this.#totalChars;
  }

  push(chunk: Uint8Array | string): void {
    const text = typeof chunk === 'string' ? chunk : this.#decoder.write(Buffer.from(chunk));
    if (text.length === 0) return;
    this.#pending.push(text);
    this.#pendingChars += text.length;
    if (this.#pendingChars >= this.#maxChars) this.flush();
    else this.#timer ??= setTimeout(() => this.flush(), this.#intervalMs);
  }

  /** Sends what is buffered now (also called at exit, with the decoder's remainder). */
  flush(final = false): void {
    if (this.#timer) clearTimeout(this.#timer);
    this.#timer = null;
    if (final) {
      const rest = this.#decoder.end();
      if (rest.length > 0) {
        this.#pending.push(rest);
        this.#pendingChars += rest.length;
      }
    }
    if (this.#pendingChars === 0) return;
    const data = this.#pending.join('');
    this.#pending = [];
    this.#pendingChars = 0;
    this.#unacked += data.length;
    this.#totalChars += data.length;
    this.#emit(data);
    if (!this.#paused && this.#unacked > this.#high) {
      this.#paused = true;
      this.#source.pause();
    }
  }

  /** The UI has written `chars` characters into xterm. */
  ack(chars: number): void {
    this.#unacked = Math.max(0, this.#unacked - chars);
    if (this.#paused && this.#unacked < this.#low) {
      this.#paused = false;
      this.#source.resume();
    }
  }

  dispose(): void {
    if (this.#timer) clearTimeout(this.#timer);
    this.#timer = null;
  }
}
