// Things handed to the UI from outside a view (the desktop menu's Open…, a file opened with kdlab, a
// file dropped anywhere on the window), picked up by the view that handles them — also when that
// view is already on screen (views read these in an $effect, not only on mount).
import type { HostFile } from '../files';

export class Inbox {
  /** A console log to decode, with where it came from. */
  pendingLog = $state<{ text: string; path: string } | null>(null);
  /** A vmcore to import into the library (Analyzer). */
  pendingVmcore = $state<HostFile | null>(null);
  /** A .config to use as the base of the next build (Kernels). */
  pendingConfig = $state<HostFile | null>(null);
  /** A lab pack to import (Recipes). */
  pendingPack = $state<HostFile | null>(null);
  /** Progress reports to grade (Recipes). */
  pendingReports = $state<HostFile[]>([]);

  takeLog(): { text: string; path: string } | null {
    const log = this.pendingLog;
    this.pendingLog = null;
    return log;
  }

  takeVmcore(): HostFile | null {
    const file = this.pendingVmcore;
    this.pendingVmcore = null;
    return file;
  }

  takeConfig(): HostFile | null {
    const file = this.pendingConfig;
    this.pendingConfig = null;
    return file;
  }

  takePack(): HostFile | null {
    const file = this.pendingPack;
    this.pendingPack = null;
    return file;
  }

  takeReports(): HostFile[] {
    const files = this.pendingReports;
    this.pendingReports = [];
    return files;
  }
}

export const inbox = new Inbox();

const nameOf = (path: string) => path.split(/[/\\]/).pop() ?? path;

/** A file kdlab was asked to open by path (menu, OS): to the inbox, and the view that takes it. */
export function deliverPath(
  kind: 'vmcore' | 'config' | 'pack' | 'report',
  path: string,
  name = nameOf(path),
): string {
  const file = { path, name };
  if (kind === 'vmcore') inbox.pendingVmcore = file;
  else if (kind === 'config') inbox.pendingConfig = file;
  else if (kind === 'pack') inbox.pendingPack = file;
  else inbox.pendingReports = [...inbox.pendingReports, file];
  return kind === 'vmcore' ? 'analyzer' : kind === 'config' ? 'kernels' : 'recipes';
}
