// The web mode's "a long job ended while you were away": the browser's Notifications API with the
// same rules and text as the desktop app's native notifications (electron/common/job-notices.ts).
// Permission is only ever asked from a click (request()); in Electron the main process notifies.
import type { LabApi } from '../../../../electron/common/api';
import { JobTracker, notificationFor } from '../../../../electron/common/job-notices';
import type { UiLanguage } from '../../../../electron/common/job-notices';

export type NoticePermission = NotificationPermission | 'unsupported';

function currentPermission(): NoticePermission {
  const api = globalThis.Notification as typeof Notification | undefined;
  return typeof api === 'function' ? api.permission : 'unsupported';
}

export class JobNotices {
  #permission = $state<NoticePermission>(currentPermission());

  get permission(): NoticePermission {
    return this.#permission;
  }

  /** Asks the browser (call it from a click: browsers ignore requests without a user gesture). */
  async request(): Promise<void> {
    if (this.#permission === 'unsupported') return;
    this.#permission = await Notification.requestPermission();
  }

  /** Watches job.updated; returns the cleanup. Does nothing in Electron (native notifications). */
  listen(api: LabApi, options: { mode: 'electron' | 'web'; language: () => UiLanguage }): () => void {
    if (options.mode === 'electron') return () => undefined;
    const tracker = new JobTracker();
    return api.on('job.updated', (job) => {
      const previous = tracker.update(job);
      // Permission may have been granted from the browser's own UI since we last looked.
      this.#permission = currentPermission();
      if (this.#permission !== 'granted') return;
      const note = notificationFor(previous, job, {
        windowFocused: !document.hidden,
        language: options.language(),
      });
      if (!note) return;
      const shown = new Notification(note.title, { body: note.body, tag: `kdlab-job-${job.id}` });
      shown.onclick = () => {
        window.focus();
        location.hash = '#/jobs';
        shown.close();
      };
    });
  }
}

export const jobNotices = new JobNotices();
