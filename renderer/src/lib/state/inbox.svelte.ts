// Things handed to the UI from outside a view (the desktop menu's Open…, a file opened with kdlab),
// picked up by the view that handles them.
export class Inbox {
  /** A console log to decode, with where it came from. */
  pendingLog = $state<{ text: string; path: string } | null>(null);

  takeLog(): { text: string; path: string } | null {
    const log = this.pendingLog;
    this.pendingLog = null;
    return log;
  }
}

export const inbox = new Inbox();
