// When a long job's end deserves a notification, and its text in both UI languages. Shared by the
// Electron main process (native notifications) and the web mode (the browser's Notifications API),
// so both follow the same rules. Pure: no DOM, no Electron.
import { jobTitle } from './local-text';
import type { JobInfo } from './types';

/** The UI languages (the renderer's catalogs); the desktop menu and notifications follow them too. */
export const uiLanguages = ['en', 'zh-CN'] as const;
export type UiLanguage = (typeof uiLanguages)[number];

export function isUiLanguage(value: unknown): value is UiLanguage {
  return typeof value === 'string' && (uiLanguages as readonly string[]).includes(value);
}

/** Kinds that are long whatever their measured duration: kernel and image builds, kdump, recipe runs. */
export const longJobKinds: ReadonlySet<string> = new Set([
  'kernel-build',
  'capture',
  'image',
  'docker-build',
  'recipe',
]);
export const longJobMs = 30_000;

export function jobDurationMs(job: JobInfo, now: number = Date.now()): number {
  const start = Date.parse(job.createdAt);
  const end = job.endedAt === null ? now : Date.parse(job.endedAt);
  return Number.isFinite(start) && Number.isFinite(end) ? Math.max(0, end - start) : 0;
}

export function isLongJob(job: JobInfo, now: number = Date.now()): boolean {
  return longJobKinds.has(job.kind) || jobDurationMs(job, now) > longJobMs;
}

export function formatDuration(ms: number, language: UiLanguage = 'en'): string {
  const seconds = Math.round(ms / 1000);
  const [s, min, h] = language === 'zh-CN' ? [' 秒', ' 分 ', ' 小时 '] : [' s', ' min ', ' h '];
  if (seconds < 60) return `${seconds}${s}`;
  const minutes = Math.floor(seconds / 60);
  if (minutes < 60) return `${minutes}${min}${seconds % 60}${s}`;
  return `${Math.floor(minutes / 60)}${h}${minutes % 60}${min.trimEnd()}`;
}

const texts = {
  en: {
    done: (title: string) => `${title} — done`,
    failed: (title: string) => `${title} — failed`,
    finishedIn: (duration: string) => `Finished in ${duration}.`,
    seeLog: 'See the job log in kdlab.',
  },
  'zh-CN': {
    done: (title: string) => `${title} — 已完成`,
    failed: (title: string) => `${title} — 失败`,
    finishedIn: (duration: string) => `用时 ${duration}。`,
    seeLog: '请在 kdlab 中查看任务日志。',
  },
} satisfies Record<UiLanguage, unknown>;

export interface JobNotification {
  title: string;
  body: string;
}

/**
 * A notification when a long job has just ended (it was running the last time we saw it) and the
 * user is not looking at kdlab. Cancelled jobs get none: the user cancelled them from this window.
 */
export function notificationFor(
  previous: JobInfo | undefined,
  job: JobInfo,
  context: { windowFocused: boolean; now?: number; language?: UiLanguage },
): JobNotification | null {
  if (previous?.state !== 'running' || context.windowFocused) return null;
  if (job.state !== 'succeeded' && job.state !== 'failed') return null;
  if (!isLongJob(job, context.now)) return null;
  const language = context.language ?? 'en';
  const text = texts[language];
  if (job.state === 'succeeded') {
    return {
      title: text.done(jobTitle(job, language)),
      body: text.finishedIn(formatDuration(jobDurationMs(job, context.now), language)),
    };
  }
  const reason = job.error ? job.error.message : text.seeLog;
  return {
    title: text.failed(jobTitle(job, language)),
    body: job.error?.hint ? `${reason} ${job.error.hint}` : reason,
  };
}

/** The state a watcher keeps: the jobs last seen running. Pure apart from its own map. */
export class JobTracker {
  readonly #running = new Map<string, JobInfo>();

  /** Records an update; returns the job's previous running state, if it was running. */
  update(job: JobInfo): JobInfo | undefined {
    const previous = this.#running.get(job.id);
    if (job.state === 'running') this.#running.set(job.id, job);
    else this.#running.delete(job.id);
    return previous;
  }

  get running(): JobInfo[] {
    return [...this.#running.values()];
  }
}
