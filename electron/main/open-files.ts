// kdlab's own files opened from the OS (the file associations in electron-builder.yml): macOS sends
// `open-file`, Linux and Windows start the app with the path in argv — the first instance's, or the
// one handed over by `second-instance`. Each becomes an `app.command` for the renderer, held until
// the page has loaded (a command sent earlier would reach no listener).
import { extname, isAbsolute, resolve } from 'node:path';
import type { AppCommand } from '../common/events';

/** The extensions electron-builder.yml associates with kdlab, and what the UI does with each. */
export const ownFileKinds: Readonly<Record<string, 'pack' | 'report'>> = {
  '.kdlab-pack': 'pack',
  '.kdlab-report': 'report',
};

/** The command for an opened file, or null when it is not one of kdlab's own files. */
export function openedFileCommand(path: string): AppCommand | null {
  const kind = ownFileKinds[extname(path).toLowerCase()];
  return kind ? { command: 'open-file', kind, path } : null;
}

/** kdlab's own files among command-line arguments (relative ones resolved against `cwd`). */
export function filesFromArgv(argv: readonly string[], cwd: string): string[] {
  // argv[0] is the executable; options (Chromium's --flags included) are never files to open.
  return argv
    .slice(1)
    .filter((arg) => !arg.startsWith('-') && openedFileCommand(arg) !== null)
    .map((arg) => (isAbsolute(arg) ? arg : resolve(cwd, arg)));
}

/** Commands for opened files, sent at once when the page is listening and queued until then. */
export class OpenedFiles {
  #queue: AppCommand[] = [];
  #ready = false;

  constructor(private readonly send: (command: AppCommand) => void) {}

  open(path: string): boolean {
    const command = openedFileCommand(path);
    if (!command) return false;
    if (this.#ready) this.send(command);
    else this.#queue.push(command);
    return true;
  }

  /** The page has loaded (its listeners are on): deliver what waited. */
  ready(): void {
    this.#ready = true;
    for (const command of this.#queue.splice(0)) this.send(command);
  }

  /** The page is gone or reloading: hold commands again. */
  notReady(): void {
    this.#ready = false;
  }

  get pending(): readonly AppCommand[] {
    return this.#queue;
  }
}
