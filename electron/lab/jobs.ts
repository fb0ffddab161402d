// Every long operation is a job: id, title, state, progress, a log on disk, an error, and an
// AbortController whose signal reaches the child processes (and kills their whole tree).
import type { LocalText } from '../common/local-text';
import { randomUUID } from 'node:crypto';
import { createWriteStream } from 'node:fs';
import type { WriteStream } from 'node:fs';
import { open, stat } from 'node:fs/promises';
import { join } from 'node:path';
import { LabError, toErrorData } from '../common/errors';
import type { JobInfo, JobLogChunk, JobProgress } from '../common/types';

export interface ProgressUpdate {
  fraction?: number | null;
  message?: string;
  etaSeconds?: number | null;
}

export interface Progress {
  report(update: ProgressUpdate): void;
  /** Appends to the job's log (kept on disk) and streams it to the UI. */
  log(text: string): void;
}

export interface JobOptions {
  title: string;
  /** The title in every interface language, for jobs the UI shows; `title` stays the English. */
  titleText?: LocalText;
  kind: string;
}

export interface JobManagerOptions {
  logDir: string;
  onUpdate?: (job: JobInfo) => void;
  onLog?: (id: string, text: string) => void;
  /** Progress events are coalesced to at most one per interval (state changes are never delayed). */
  updateIntervalMs?: number;
}

interface JobRecord {
  info: JobInfo;
  controller: AbortController;
  log: WriteStream;
  pendingUpdate: NodeJS.Timeout | null;
  lastUpdateAt: number;
  done: Promise<void>;
}

const maxLogChunk = 256 * 1024;

function clampFraction(value: number | null | undefined): number | null | undefined {
  if (value === null || value === undefined) return value;
  if (!Number.isFinite(value)) return null;
  return Math.min(1, Math.max(0, value));
}

export class JobManager {
  readonly #jobs = new Map<string, JobRecord>();
  readonly #options: JobManagerOptions;

  constructor(options: JobManagerOptions) {
    this.#options = options;
  }

  /** Runs `task` as a job and waits for it; success or failure is recorded, failures re-thrown. */
  async withProgress<T>(
    options: JobOptions,
    task: (progress: Progress, signal: AbortSignal) => Promise<T>,
  ): Promise<T> {
    return this.start(options, task).result;
  }

  /** Starts a job and returns at once with its info and the eventual result. */
  start<T>(
    options: JobOptions,
    task: (progress: Progress, signal: AbortSignal) => Promise<T>,
  ): { job: JobInfo; result: Promise<T> } {
    const id = randomUUID();
    const logPath = join(this.#options.logDir, `${id}.log`);
    const info: JobInfo = {
      id,
      kind: options.kind,
      title: options.title,
      ...(options.titleText ? { titleText: options.titleText } : {}),
      state: 'running',
      progress: { fraction: null, message: 'Starting…', etaSeconds: null },
      createdAt: new Date().toISOString(),
      endedAt: null,
      error: null,
      logPath,
    };
    const log = createWriteStream(logPath, { flags: 'a' });
    log.on('error', () => undefined);
    const record: JobRecord = {
      info,
      controller: new AbortController(),
      log,
      pendingUpdate: null,
      lastUpdateAt: 0,
      done: Promise.resolve(),
    };
    this.#jobs.set(id, record);
    this.#emitNow(record);

    const progress: Progress = {
      report: (update) => {
        if (record.info.state !== 'running') return;
        const next: JobProgress = { ...record.info.progress };
        const fraction = clampFraction(update.fraction);
        if (fraction !== undefined) next.fraction = fraction;
        if (update.message !== undefined) next.message = update.message;
        if (update.etaSeconds !== undefined) next.etaSeconds = update.etaSeconds;
        record.info = { ...record.info, progress: next };
        this.#emitSoon(record);
      },
      log: (text) => {
        record.log.write(text);
        this.#options.onLog?.(id, text);
      },
    };

    const result = (async () => {
      try {
        const value = await task(progress, record.controller.signal);
        if (record.controller.signal.aborted)
          throw new LabError('CANCELLED', `${options.title} was cancelled.`);
        await this.#finish(record, 'succeeded', null);
        return value;
      } catch (error) {
        const data = record.controller.signal.aborted
          ? { code: 'CANCELLED' as const, message: `${options.title} was cancelled.`, hint: null }
          : toErrorData(error);
        progress.log(
          `\n[kdlab] ${data.code}: ${data.message}${data.hint ? `\n[kdlab] hint: ${data.hint}` : ''}\n`,
        );
        await this.#finish(record, data.code === 'CANCELLED' ? 'cancelled' : 'failed', data);
        throw error instanceof LabError ? error : LabError.fromData(data);
      }
    })();
    record.done = result.then(
      () => undefined,
      () => undefined,
    );
    return { job: info, result };
  }

  list(): JobInfo[] {
    return [...this.#jobs.values()].map((r) => r.info).sort((a, b) => b.createdAt.localeCompare(a.createdAt));
  }

  get(id: string): JobInfo {
    return this.#record(id).info;
  }

  /** Aborts a running job; its task's signal fires and child process trees are killed. */
  cancel(id: string): JobInfo {
    const record = this.#record(id);
    if (record.info.state === 'running') {
      record.info = { ...record.info, progress: { ...record.info.progress, message: 'Cancelling…' } };
      record.controller.abort(new LabError('CANCELLED', `${record.info.title} was cancelled.`));
      this.#emitNow(record);
    }
    return record.info;
  }

  /** Waits until a job has ended (whatever its outcome). */
  async settled(id: string): Promise<JobInfo> {
    const record = this.#record(id);
    await record.done;
    return record.info;
  }

  async readLog(id: string, offset: number): Promise<JobLogChunk> {
    const record = this.#record(id);
    const size = await stat(record.info.logPath).then(
      (s) => s.size,
      () => 0,
    );
    if (offset >= size) return { text: '', nextOffset: size, size };
    const length = Math.min(maxLogChunk, size - offset);
    const handle = await open(record.info.logPath, 'r');
    try {
      const buffer = Buffer.alloc(length);
      const { bytesRead } = await handle.read(buffer, 0, length, offset);
      // Do not split a UTF-8 sequence: stop before an incomplete trailing character.
      let end = bytesRead;
      if (offset + bytesRead < size) {
        let back = end - 1;
        while (back > 0 && back >= end - 4 && ((buffer[back] ?? 0) & 0xc0) === 0x80) back -= 1;
        const lead = buffer[back] ?? 0;
        const need = lead >= 0xf0 ? 4 : lead >= 0xe0 ? 3 : lead >= 0xc0 ? 2 : 1;
        if (back + need > end) end = back;
      }
      return { text: buffer.subarray(0, end).toString('utf8'), nextOffset: offset + end, size };
    } finally {
      await handle.close();
    }
  }

  /** Cancels everything still running and waits for the jobs to end. */
  async dispose(): Promise<void> {
    for (const record of this.#jobs.values()) {
      if (record.info.state === 'running') record.controller.abort();
    }
    await Promise.all([...this.#jobs.values()].map((r) => r.done));
  }

  #record(id: string): JobRecord {
    const record = this.#jobs.get(id);
    if (!record) throw new LabError('NOT_FOUND', `No job with id ${id}.`);
    return record;
  }

  /** Ends the job; resolves once its log is flushed to disk. */
  async #finish(record: JobRecord, state: JobInfo['state'], error: JobInfo['error']): Promise<void> {
    const progress: JobProgress =
      state === 'succeeded'
        ? { fraction: 1, message: 'Done', etaSeconds: 0 }
        : {
            ...record.info.progress,
            etaSeconds: null,
            message: error?.message ?? record.info.progress.message,
          };
    record.info = { ...record.info, state, error, progress, endedAt: new Date().toISOString() };
    await new Promise<void>((resolve) => record.log.end(resolve));
    this.#emitNow(record);
  }

  #emitNow(record: JobRecord): void {
    if (record.pendingUpdate) clearTimeout(record.pendingUpdate);
    record.pendingUpdate = null;
    record.lastUpdateAt = Date.now();
    this.#options.onUpdate?.(record.info);
  }

  #emitSoon(record: JobRecord): void {
    const interval = this.#options.updateIntervalMs ?? 100;
    const wait = record.lastUpdateAt + interval - Date.now();
    if (wait <= 0) {
      this.#emitNow(record);
      return;
    }
    record.pendingUpdate ??= setTimeout(() => this.#emitNow(record), wait);
  }
}

/** A step of a larger job: its 0..1 progress maps onto [from, to] of the parent, its messages prefixed. */
export function subProgress(parent: Progress, from: number, to: number, prefix = ''): Progress {
  return {
    report(update) {
      const fraction =
        update.fraction === undefined || update.fraction === null
          ? update.fraction
          : from + (to - from) * Math.min(1, Math.max(0, update.fraction));
      parent.report({
        ...update,
        ...(fraction !== undefined ? { fraction } : {}),
        ...(update.message !== undefined ? { message: `${prefix}${update.message}` } : {}),
      });
    },
    log: (text) => parent.log(text),
  };
}
