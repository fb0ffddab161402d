// Long jobs seen from the desktop: the window title follows the running job, and a notification
// tells the user a long job ended while they were in another window. Driven by `job.updated`.
import { Notification } from 'electron';
import type { BrowserWindow } from 'electron';
import type { LabEventName, LabEvents } from '../common/events';
import type { JobInfo } from '../common/types';
import type { ClientContext } from '../lab/dispatcher';
import type { EventBus } from '../lab/event-bus';

/** Kinds that are long whatever their measured duration. */
export const longJobKinds: ReadonlySet<string> = new Set(['kernel-build', 'capture']);
export const longJobMs = 30_000;
export const appTitle = 'kdlab';

export function jobDurationMs(job: JobInfo, now: number = Date.now()): number {
  const start = Date.parse(job.createdAt);
  const end = job.endedAt === null ? now : Date.parse(job.endedAt);
  return Number.isFinite(start) && Number.isFinite(end) ? Math.max(0, end - start) : 0;
}

export function isLongJob(job: JobInfo, now: number = Date.now()): boolean {
  return longJobKinds.has(job.kind) || jobDurationMs(job, now) > longJobMs;
}

export function formatDuration(ms: number): string {
  const seconds = Math.round(ms / 1000);
  if (seconds < 60) return `${seconds} s`;
  const minutes = Math.floor(seconds / 60);
  if (minutes < 60) return `${minutes} min ${seconds % 60} s`;
  return `${Math.floor(minutes / 60)} h ${minutes % 60} min`;
}

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
  context: { windowFocused: boolean; now?: number },
): JobNotification | null {
  if (previous?.state !== 'running' || context.windowFocused) return null;
  if (job.state !== 'succeeded' && job.state !== 'failed') return null;
  if (!isLongJob(job, context.now)) return null;
  if (job.state === 'succeeded') {
    return {
      title: `${job.title} — done`,
      body: `Finished in ${formatDuration(jobDurationMs(job, context.now))}.`,
    };
  }
  const reason = job.error ? job.error.message : 'See the job log in kdlab.';
  return { title: `${job.title} — failed`, body: job.error?.hint ? `${reason} ${job.error.hint}` : reason };
}

/** "<title> 42% — kdlab" for the oldest running job (+N when more run), plain "kdlab" when idle. */
export function windowTitle(running: readonly JobInfo[]): string {
  if (running.length === 0) return appTitle;
  const [job] = [...running].sort((a, b) => a.createdAt.localeCompare(b.createdAt));
  if (!job) return appTitle;
  const fraction = job.progress.fraction;
  const percent = fraction === null ? '' : ` ${Math.min(100, Math.max(0, Math.floor(fraction * 100)))}%`;
  const more = running.length > 1 ? ` (+${running.length - 1} more)` : '';
  return `${job.title}${percent}${more} — ${appTitle}`;
}

/** The state the glue keeps: the jobs last seen running. Pure apart from its own map. */
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

/** The parts of BrowserWindow the watcher uses. */
export type JobWindow = Pick<
  BrowserWindow,
  'isDestroyed' | 'isFocused' | 'isMinimized' | 'restore' | 'focus' | 'setTitle'
>;

export interface JobWatcherOptions {
  /** The main window, or null when it is closed (macOS keeps the app running). */
  getWindow(): JobWindow | null;
  now?: () => number;
}

/** Attaches to the bus as one more client; returns the detach function. */
export function watchJobs(events: Pick<EventBus, 'attach'>, options: JobWatcherOptions): () => void {
  const tracker = new JobTracker();
  // Held until closed: a collected Notification loses its click handler.
  const shown = new Set<Notification>();
  const liveWindow = (): JobWindow | null => {
    const win = options.getWindow();
    return win && !win.isDestroyed() ? win : null;
  };
  const onJob = (job: JobInfo): void => {
    const previous = tracker.update(job);
    const win = liveWindow();
    win?.setTitle(windowTitle(tracker.running));
    const note = notificationFor(previous, job, {
      windowFocused: win?.isFocused() ?? false,
      now: options.now?.() ?? Date.now(),
    });
    if (note && Notification.isSupported()) {
      const notification = new Notification({ title: note.title, body: note.body });
      shown.add(notification);
      notification.on('close', () => shown.delete(notification));
      notification.on('click', () => {
        shown.delete(notification);
        const target = liveWindow();
        if (!target) return;
        if (target.isMinimized()) target.restore();
        target.focus();
      });
      notification.show();
    }
  };
  const client: ClientContext = {
    clientId: 'electron-job-watcher',
    emit<E extends LabEventName>(event: E, payload: LabEvents[E]) {
      if (event === 'job.updated') onJob(payload as JobInfo);
    },
  };
  return events.attach(client);
}
