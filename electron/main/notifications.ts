// Long jobs seen from the desktop: the window title follows the running job, and a notification
// tells the user a long job ended while they were in another window. Driven by `job.updated`.
import { Notification } from 'electron';
import type { BrowserWindow } from 'electron';
import type { LabEventName, LabEvents } from '../common/events';
import { JobTracker, notificationFor } from '../common/job-notices';
import type { UiLanguage } from '../common/job-notices';
import type { JobInfo } from '../common/types';
import { jobTitle } from '../common/local-text';
import type { ClientContext } from '../lab/dispatcher';
import type { EventBus } from '../lab/event-bus';

export const appTitle = 'kdlab';

// The rules and their text are shared with the web mode's notifications.
export {
  JobTracker,
  formatDuration,
  isLongJob,
  jobDurationMs,
  longJobKinds,
  longJobMs,
  notificationFor,
} from '../common/job-notices';
export type { JobNotification } from '../common/job-notices';

/** "<title> 42% — kdlab" for the oldest running job (+N when more run), plain "kdlab" when idle. */
export function windowTitle(running: readonly JobInfo[], language: UiLanguage = 'en'): string {
  if (running.length === 0) return appTitle;
  const [job] = [...running].sort((a, b) => a.createdAt.localeCompare(b.createdAt));
  if (!job) return appTitle;
  const fraction = job.progress.fraction;
  const percent = fraction === null ? '' : ` ${Math.min(100, Math.max(0, Math.floor(fraction * 100)))}%`;
  const extra = running.length - 1;
  const more = extra > 0 ? (language === 'zh-CN' ? `（另有 ${extra} 个）` : ` (+${extra} more)`) : '';
  return `${jobTitle(job, language)}${percent}${more} — ${appTitle}`;
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
  /** The UI's language (the renderer reports it); English until it does. */
  language?: () => UiLanguage;
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
    win?.setTitle(windowTitle(tracker.running, options.language?.() ?? 'en'));
    const note = notificationFor(previous, job, {
      windowFocused: win?.isFocused() ?? false,
      now: options.now?.() ?? Date.now(),
      language: options.language?.() ?? 'en',
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
