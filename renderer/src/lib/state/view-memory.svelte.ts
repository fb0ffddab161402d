// What a view shows, kept while the user is in another view (views are unmounted on navigation):
// the VMs view's selected guest and the serial consoles it had open, the Analyzer's selected vmcore and
// its report. In memory only: after a reload the back end's lists are the truth again.
import type { CrashReport } from '../../../../electron/common/types';

export class VmsViewMemory {
  selected = $state<string | null>(null);
  /**
   * Guests whose serial console was open when the view was left: it is opened again when the view is
   * shown (the back end replays what the guest printed). gdb is not re-attached: a new gdb on the
   * stub would stop a running guest behind the user's back.
   */
  #serial = $state<string[]>([]);

  hadSerial(vmId: string): boolean {
    return this.#serial.includes(vmId);
  }

  openedSerial(vmId: string): void {
    if (!this.#serial.includes(vmId)) this.#serial = [...this.#serial, vmId];
  }
}

export class AnalyzerViewMemory {
  /** The vmcore last analyzed (its row is marked) and its report. */
  report = $state<{ id: string; report: CrashReport } | null>(null);
}

export const vmsView = new VmsViewMemory();
export const analyzerView = new AnalyzerViewMemory();
