// Jobs on the command line: a redrawn progress bar on a TTY, plain lines otherwise (CI logs).
import type { JobInfo } from '../common/types';

export interface ProgressRendererOptions {
  stream: NodeJS.WriteStream | { write(text: string): boolean; isTTY?: boolean; columns?: number };
  /** Echo each job's log to the stream too. */
  echoLog?: boolean;
}

export function formatEta(seconds: number | null): string {
  if (seconds === null || !Number.isFinite(seconds)) return '';
  const s = Math.max(0, Math.round(seconds));
  return s >= 60 ? `ETA ${Math.floor(s / 60)}m${String(s % 60).padStart(2, '0')}s` : `ETA ${s}s`;
}

export function progressBar(fraction: number | null, width = 24): string {
  if (fraction === null) return `[${'·'.repeat(width)}]`;
  const filled = Math.round(fraction * width);
  return `[${'#'.repeat(filled)}${'.'.repeat(width - filled)}] ${String(Math.round(fraction * 100)).padStart(3)}%`;
}

export function formatJobLine(job: JobInfo): string {
  const eta = formatEta(job.progress.etaSeconds);
  return [job.title, progressBar(job.progress.fraction), job.progress.message, eta]
    .filter(Boolean)
    .join('  ');
}

export class ProgressRenderer {
  readonly #stream: ProgressRendererOptions['stream'];
  readonly #tty: boolean;
  readonly #echoLog: boolean;
  #lastPlain = '';
  #barShown = false;

  constructor(options: ProgressRendererOptions) {
    this.#stream = options.stream;
    this.#tty = options.stream.isTTY === true;
    this.#echoLog = options.echoLog ?? false;
  }

  update(job: JobInfo): void {
    if (job.state !== 'running') {
      this.#clearBar();
      const mark = { succeeded: 'done', failed: 'FAILED', cancelled: 'cancelled', running: '' }[job.state];
      this.#stream.write(`${job.title}: ${mark}${job.error ? ` — ${job.error.message}` : ''}\n`);
      return;
    }
    const line = formatJobLine(job);
    if (this.#tty) {
      const width = (this.#stream.columns ?? 100) - 1;
      this.#stream.write(`\r\x1b[2K${line.slice(0, width)}`);
      this.#barShown = true;
    } else {
      // Plain mode (CI logs): a line per 5% step, or per message while the amount of work is unknown.
      const fraction = job.progress.fraction;
      const key = `${job.title}|${fraction === null ? job.progress.message : Math.floor(fraction * 20)}`;
      if (key !== this.#lastPlain) {
        this.#lastPlain = key;
        this.#stream.write(`${line}\n`);
      }
    }
  }

  log(text: string): void {
    if (!this.#echoLog) return;
    this.#clearBar();
    this.#stream.write(text);
  }

  #clearBar(): void {
    if (this.#tty && this.#barShown) {
      this.#stream.write('\r\x1b[2K');
      this.#barShown = false;
    }
  }
}
