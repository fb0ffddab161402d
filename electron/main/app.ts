// The Electron app's lifecycle: one instance, the lab:// scheme, the back end, IPC, the window.
// Kept apart from main.ts so tests can drive it with the electron mock and a small back end.
import { basename, dirname, join } from 'node:path';
import type { BrowserWindow } from 'electron';
import { app, dialog, ipcMain, protocol, screen, session, shell } from 'electron';
import type { LabBackend, LabBackendOptions } from '../lab/lab-backend';
import type { TerminalService } from '../lab/terminals/terminal-service';
import type { UiLanguage } from '../common/job-notices';
import { registerDesktopIpc } from './desktop-ipc';
import { registerIpcApi, webContentsClient } from './ipc';
import { installAppMenu } from './menu';
import { OpenedFiles, filesFromArgv } from './open-files';
import { watchJobs } from './notifications';
import { labSchemePrivileges, registerLabProtocol } from './protocol';
import { installPermissionHandlers, installSecurityHandlers } from './security';
import { createMainWindow } from './window';

export const appId = 'org.kdlab.app';

/** What the app needs from the back end (createLabBackend's result has all of it). */
export type AppBackend = Pick<LabBackend, 'dispatch' | 'events' | 'dispose'> & {
  readonly terminals: Pick<TerminalService, 'closeAllOf'>;
};

export interface StartAppOptions {
  createBackend(options: LabBackendOptions): Promise<AppBackend>;
  platform?: NodeJS.Platform;
  /** How long quitting waits for the back end to stop its jobs and terminals. */
  disposeTimeoutMs?: number;
  /** The command line (kdlab's own files in it are opened); process.argv and cwd by default. */
  argv?: readonly string[];
  cwd?: string;
}

/**
 * Files handed to other programs (QEMU gets the probe guest, make gets config fragments) must be
 * real files: in a packaged app they live in app.asar.unpacked (see asarUnpack), not in app.asar.
 */
export function unpackedPath(appPath: string): string {
  return basename(appPath) === 'app.asar' ? join(dirname(appPath), 'app.asar.unpacked') : appPath;
}

export interface AppPaths {
  rendererRoot: string;
  preloadPath: string;
  /** kdlab's install folder as the back end sees it (lab-images/ …). */
  backendRoot: string;
}

export function appPaths(appPath: string): AppPaths {
  return {
    rendererRoot: join(appPath, 'dist', 'renderer'),
    preloadPath: join(appPath, 'dist', 'electron', 'preload.cjs'),
    backendRoot: unpackedPath(appPath),
  };
}

function settleWithin(promise: Promise<unknown>, ms: number): Promise<void> {
  return new Promise((resolve) => {
    const timer = setTimeout(() => {
      console.warn(`kdlab: the back end did not stop within ${ms} ms; quitting anyway.`);
      resolve();
    }, ms);
    promise
      .catch((error: unknown) => console.error(`kdlab: stopping the back end failed: ${String(error)}`))
      .finally(() => {
        clearTimeout(timer);
        resolve();
      });
  });
}

export function startApp(options: StartAppOptions): void {
  // Privileged schemes can only be registered before `ready`.
  protocol.registerSchemesAsPrivileged([labSchemePrivileges]);
  if (!app.requestSingleInstanceLock()) {
    app.quit();
    return;
  }
  const platform = options.platform ?? process.platform;
  if (platform === 'win32') app.setAppUserModelId(appId);

  const trustedContents = new Set<number>();
  let mainWindow: BrowserWindow | null = null;
  let stopping = false;

  installSecurityHandlers();

  // Files opened from the OS reach the page as app.command events once it has loaded.
  const opened = new OpenedFiles((command) => {
    if (mainWindow && !mainWindow.isDestroyed())
      webContentsClient(mainWindow.webContents).emit('app.command', command);
  });
  let reopenWindow: (() => void) | null = null;
  // macOS: also sent before `ready` when the app is launched by opening a file.
  app.on('open-file', (event, path) => {
    event.preventDefault();
    if (opened.open(path)) reopenWindow?.();
  });
  for (const file of filesFromArgv(options.argv ?? process.argv, options.cwd ?? process.cwd()))
    opened.open(file);

  const focusWindow = (win: BrowserWindow): void => {
    if (win.isMinimized()) win.restore();
    win.show();
    win.focus();
  };

  const openWindow = (lab: AppBackend, paths: AppPaths): BrowserWindow => {
    const win = createMainWindow({
      preloadPath: paths.preloadPath,
      stateFile: join(app.getPath('userData'), 'window-state.json'),
      workAreas: () => screen.getAllDisplays().map((display) => display.workArea),
    });
    // Read now: webContents is gone once the window is closed.
    const contentsId = win.webContents.id;
    const client = webContentsClient(win.webContents);
    trustedContents.add(contentsId);
    const detach = lab.events.attach(client);
    mainWindow = win;
    win.webContents.on('did-start-loading', () => opened.notReady());
    win.webContents.on('did-finish-load', () => opened.ready());
    win.on('closed', () => {
      opened.notReady();
      trustedContents.delete(contentsId);
      detach();
      lab.terminals.closeAllOf(client.clientId);
      if (mainWindow === win) mainWindow = null;
    });
    return win;
  };

  const starting = app.whenReady().then(async () => {
    const paths = appPaths(app.getAppPath());
    installPermissionHandlers(session.defaultSession);
    registerLabProtocol(protocol, paths.rendererRoot);
    const lab = await options.createBackend({
      mode: 'electron',
      version: app.getVersion(),
      appRoot: paths.backendRoot,
      openExternal: (url) => shell.openExternal(url.href),
    });
    const isTrustedSender = (_frame: unknown, sender: { id: number }): boolean =>
      trustedContents.has(sender.id);
    registerIpcApi(ipcMain, lab.dispatch, { isTrustedSender });
    // English until the page reports its language (it does as soon as it loads).
    let language: UiLanguage = 'en';
    watchJobs(lab.events, { getWindow: () => mainWindow, language: () => language });
    const menu = installAppMenu(
      () => mainWindow,
      (command) => {
        if (mainWindow && !mainWindow.isDestroyed())
          webContentsClient(mainWindow.webContents).emit('app.command', command);
      },
      platform,
    );
    registerDesktopIpc(ipcMain, {
      isTrustedSender,
      getWindow: () => (mainWindow && !mainWindow.isDestroyed() ? mainWindow : null),
      defaultFolder: () => app.getPath('downloads'),
      getLanguage: () => language,
      setLanguage: (next) => {
        language = next;
        menu.setLanguage(next);
      },
    });
    const reopen = (): void => {
      if (mainWindow && !mainWindow.isDestroyed()) focusWindow(mainWindow);
      else if (!stopping) openWindow(lab, paths);
    };
    reopenWindow = reopen;
    // A second `kdlab FILE` hands its command line over and quits: open its files here.
    app.on('second-instance', (_event, argv, workingDirectory) => {
      for (const file of filesFromArgv(argv, workingDirectory)) opened.open(file);
      reopen();
    });
    app.on('activate', reopen);
    openWindow(lab, paths);
    return lab;
  });

  starting.catch((error: unknown) => {
    const message = error instanceof Error ? error.message : String(error);
    dialog.showErrorBox('kdlab could not start', message);
    app.exit(1);
  });

  app.on('window-all-closed', () => {
    if (platform !== 'darwin') app.quit();
  });

  // Jobs and terminals are child processes: stop them before the process goes away.
  app.on('will-quit', (event) => {
    if (stopping) return;
    stopping = true;
    event.preventDefault();
    void starting
      .then((lab) => settleWithin(lab.dispose(), options.disposeTimeoutMs ?? 5_000))
      .catch(() => undefined)
      .finally(() => app.quit());
  });
}
