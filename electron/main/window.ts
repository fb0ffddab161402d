// The main window: locked-down webPreferences, the lab:// page, remembered bounds.
import { BrowserWindow } from 'electron';
import type { WebPreferences } from 'electron';
import { labAppUrl } from './protocol';
import { fitToWorkAreas, loadWindowState, minWindowSize, saveWindowState } from './window-state';
import type { Rect } from './window-state';

/** Every security-relevant flag written out, even where it is Electron's default. */
export function buildWebPreferences(preloadPath: string): WebPreferences {
  return {
    contextIsolation: true,
    sandbox: true,
    nodeIntegration: false,
    nodeIntegrationInWorker: false,
    nodeIntegrationInSubFrames: false,
    webviewTag: false,
    webSecurity: true,
    allowRunningInsecureContent: false,
    experimentalFeatures: false,
    preload: preloadPath,
  };
}

export interface MainWindowOptions {
  /** dist/electron/preload.cjs */
  preloadPath: string;
  /** The JSON file the bounds are remembered in (userData/window-state.json). */
  stateFile: string;
  /** The displays' work areas, to keep a remembered position on screen. */
  workAreas?: () => readonly Rect[];
  url?: string;
}

export function createMainWindow(options: MainWindowOptions): BrowserWindow {
  const state = fitToWorkAreas(loadWindowState(options.stateFile), options.workAreas?.() ?? []);
  const position =
    state.x !== undefined && state.y !== undefined ? { x: state.x, y: state.y } : { center: true };
  const win = new BrowserWindow({
    ...position,
    width: state.width,
    height: state.height,
    minWidth: minWindowSize.width,
    minHeight: minWindowSize.height,
    title: 'kdlab',
    show: false,
    webPreferences: buildWebPreferences(options.preloadPath),
  });
  win.once('ready-to-show', () => {
    // maximize() also shows the window: wait for the first paint like show() does.
    if (state.maximized) win.maximize();
    win.show();
  });
  // The title shows the running job (notifications.ts); the page's <title> must not overwrite it.
  win.on('page-title-updated', (event) => event.preventDefault());
  win.on('close', () => {
    saveWindowState(options.stateFile, { ...win.getNormalBounds(), maximized: win.isMaximized() });
  });
  const url = options.url ?? labAppUrl;
  win.loadURL(url).catch((error: unknown) => {
    // ready-to-show may never come: show the window rather than leave an invisible app running.
    console.error(`kdlab: could not load ${url}: ${(error as Error).message}`);
    if (!win.isDestroyed()) win.show();
  });
  return win;
}
