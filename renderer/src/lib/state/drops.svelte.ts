// Files dropped anywhere on the window: a console log is decoded, anything else goes to the back end
// (its path in Electron, an upload in the web mode), which says what it is; then the view that takes
// it opens with it. A wrong file ends here with the back end's error and hint.
import type { LabApi } from '../../../../electron/common/api';
import type { LabErrorData } from '../../../../electron/common/errors';
import type { FileIdentity, InboxKind } from '../../../../electron/common/types';
import { asErrorData, looksLikeLog, toHostFile } from '../files';
import { deliverPath, inbox } from './inbox.svelte';

export class Drops {
  #api: LabApi;
  /** A file is being dragged over the window. */
  dragging = $state(false);
  /** The file being uploaded or identified. */
  busy = $state<string | null>(null);
  error = $state<LabErrorData | null>(null);

  constructor(api: LabApi) {
    this.#api = api;
  }

  /**
   * Hands `file` to the back end and returns what it is; with `expect`, anything else is an error.
   * Null when it failed (the error is in `error`).
   */
  async identify(file: File, expect?: InboxKind): Promise<FileIdentity | null> {
    this.error = null;
    this.busy = file.name;
    try {
      const host = await toHostFile(file);
      return await this.#api.invoke('files.identify', { path: host.path, ...(expect ? { expect } : {}) });
    } catch (e) {
      this.error = asErrorData(e);
      return null;
    } finally {
      this.busy = null;
    }
  }

  /** A file dropped outside any view's own drop target. */
  async route(file: File): Promise<void> {
    if (await looksLikeLog(file)) {
      inbox.pendingLog = { text: await file.text(), path: file.name };
      location.hash = '#/decoder';
      return;
    }
    const identity = await this.identify(file);
    if (!identity) return;
    if (identity.kind === 'log') {
      inbox.pendingLog = { text: await file.text(), path: file.name };
      location.hash = '#/decoder';
      return;
    }
    const view = deliverPath(identity.kind, identity.path, file.name);
    location.hash = `#/${view}`;
  }
}
