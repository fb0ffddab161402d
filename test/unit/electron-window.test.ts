import { existsSync, mkdirSync, readFileSync, readdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest';
import { buildWebPreferences, createMainWindow } from '../../electron/main/window';
import {
  defaultWindowState,
  fitToWorkAreas,
  loadWindowState,
  parseWindowState,
  saveWindowState,
} from '../../electron/main/window-state';
import { withTempDir } from '../helpers/temp';
import { BrowserWindow, resetElectronMock } from '../mocks/electron';

beforeEach(() => resetElectronMock());
afterEach(() => vi.restoreAllMocks());

describe('buildWebPreferences', () => {
  const prefs = buildWebPreferences('/app/dist/electron/preload.cjs');

  it.each([
    ['contextIsolation', true],
    ['sandbox', true],
    ['nodeIntegration', false],
    ['nodeIntegrationInWorker', false],
    ['nodeIntegrationInSubFrames', false],
    ['webviewTag', false],
    ['webSecurity', true],
    ['allowRunningInsecureContent', false],
    ['experimentalFeatures', false],
  ] as const)('sets %s to %s explicitly', (flag, value) => {
    expect(Object.hasOwn(prefs, flag)).toBe(true);
    expect(prefs[flag]).toBe(value);
  });

  it('points the preload at the bundled CJS file and sets nothing else', () => {
    expect(prefs.preload).toBe('/app/dist/electron/preload.cjs');
    expect(Object.keys(prefs).sort()).toEqual(
      [
        'allowRunningInsecureContent',
        'contextIsolation',
        'experimentalFeatures',
        'nodeIntegration',
        'nodeIntegrationInSubFrames',
        'nodeIntegrationInWorker',
        'preload',
        'sandbox',
        'webSecurity',
        'webviewTag',
      ].sort(),
    );
  });
});

describe('createMainWindow', () => {
  it('builds the window with those preferences, hidden until ready-to-show, on lab://app', async () => {
    await withTempDir(async (dir) => {
      const win = createMainWindow({ preloadPath: '/p/preload.cjs', stateFile: join(dir, 'state.json') });
      const mock = BrowserWindow.instances[0];
      expect(BrowserWindow.instances).toHaveLength(1);
      expect(mock).toBe(win);
      expect(mock?.options.webPreferences).toEqual(buildWebPreferences('/p/preload.cjs'));
      expect(mock?.options.show).toBe(false);
      expect(mock?.loadedUrls).toEqual(['lab://app/index.html']);
      expect(mock?.isVisible()).toBe(false);
      mock?.readyToShow();
      expect(mock?.isVisible()).toBe(true);
    });
  });

  it('keeps its own title: the page <title> does not overwrite it', async () => {
    await withTempDir(async (dir) => {
      createMainWindow({ preloadPath: '/p', stateFile: join(dir, 'state.json') });
      const mock = BrowserWindow.instances[0];
      expect(mock?.pageTitleUpdated('Vite App')).toBe(true);
      expect(mock?.getTitle()).toBe('kdlab');
    });
  });

  it('shows the window anyway when the page fails to load', async () => {
    await withTempDir(async (dir) => {
      const error = vi.spyOn(console, 'error').mockImplementation(() => undefined);
      BrowserWindow.loadErrorForNewWindows = new Error('net::ERR_FILE_NOT_FOUND');
      createMainWindow({ preloadPath: '/p', stateFile: join(dir, 'state.json') });
      await vi.waitFor(() => expect(BrowserWindow.instances[0]?.isVisible()).toBe(true));
      expect(error).toHaveBeenCalledWith(expect.stringContaining('ERR_FILE_NOT_FOUND'));
    });
  });

  it('remembers its bounds across windows, written atomically', async () => {
    await withTempDir(async (dir) => {
      const stateFile = join(dir, 'user-data', 'window-state.json');
      createMainWindow({ preloadPath: '/p', stateFile });
      const first = BrowserWindow.instances[0];
      expect(first?.getBounds()).toMatchObject({ width: 1280, height: 800 });
      first?.setBounds({ x: 50, y: 60, width: 1000, height: 700 });
      first?.maximize();
      first?.close();
      expect(JSON.parse(readFileSync(stateFile, 'utf8'))).toEqual({
        x: 50,
        y: 60,
        width: 1000,
        height: 700,
        maximized: true,
      });
      expect(readdirSync(join(dir, 'user-data'))).toEqual(['window-state.json']);

      createMainWindow({
        preloadPath: '/p',
        stateFile,
        workAreas: () => [{ x: 0, y: 0, width: 1920, height: 1080 }],
      });
      const second = BrowserWindow.instances[1];
      expect(second?.options).toMatchObject({ x: 50, y: 60, width: 1000, height: 700 });
      expect(second?.isMaximized()).toBe(false);
      expect(second?.isVisible()).toBe(false);
      second?.readyToShow();
      expect(second?.isMaximized()).toBe(true);
    });
  });

  it('drops a remembered position that is on no display any more', async () => {
    await withTempDir(async (dir) => {
      const stateFile = join(dir, 'window-state.json');
      writeFileSync(
        stateFile,
        JSON.stringify({ x: 3000, y: 200, width: 1200, height: 800, maximized: false }),
      );
      createMainWindow({
        preloadPath: '/p',
        stateFile,
        workAreas: () => [{ x: 0, y: 0, width: 1920, height: 1080 }],
      });
      const options = BrowserWindow.instances[0]?.options;
      expect(options?.x).toBeUndefined();
      expect(options?.y).toBeUndefined();
      expect(options?.center).toBe(true);
      expect(options).toMatchObject({ width: 1200, height: 800 });
    });
  });
});

describe('window state file', () => {
  it('falls back to the defaults for a missing, corrupt or wrongly shaped file', async () => {
    await withTempDir(async (dir) => {
      expect(loadWindowState(join(dir, 'missing.json'))).toEqual(defaultWindowState);
      const corrupt = join(dir, 'corrupt.json');
      writeFileSync(corrupt, '{"width": 12');
      expect(loadWindowState(corrupt)).toEqual(defaultWindowState);
      const shaped = join(dir, 'shaped.json');
      writeFileSync(shaped, JSON.stringify({ width: '1000', height: 700, maximized: false }));
      expect(loadWindowState(shaped)).toEqual(defaultWindowState);
    });
  });

  it.each([
    ['a valid state', { x: 1, y: 2, width: 900, height: 600, maximized: false }, true],
    ['no position', { width: 900, height: 600, maximized: true }, true],
    ['too small', { width: 100, height: 600, maximized: false }, false],
    ['absurdly large', { width: 1e9, height: 600, maximized: false }, false],
    ['fractional', { width: 900.5, height: 600, maximized: false }, false],
    ['no maximized flag', { width: 900, height: 600 }, false],
    ['null', null, false],
  ])('parseWindowState: %s', (_name, raw, valid) => {
    expect(parseWindowState(raw) !== null).toBe(valid);
  });

  it('clamps the size to the largest display and keeps an on-screen position', () => {
    const areas = [
      { x: 0, y: 0, width: 1920, height: 1080 },
      { x: 1920, y: 0, width: 1280, height: 1024 },
    ];
    expect(fitToWorkAreas({ x: 2000, y: 10, width: 1000, height: 700, maximized: false }, areas)).toEqual({
      x: 2000,
      y: 10,
      width: 1000,
      height: 700,
      maximized: false,
    });
    expect(fitToWorkAreas({ x: 0, y: 0, width: 5000, height: 3000, maximized: false }, areas)).toMatchObject({
      width: 1920,
      height: 1080,
    });
    // Title bar above the top edge: unreachable, so the window manager places it.
    expect(
      fitToWorkAreas({ x: 10, y: -500, width: 1000, height: 700, maximized: false }, areas).x,
    ).toBeUndefined();
  });

  it('returns false and keeps the old file when the folder is not writable', async () => {
    await withTempDir(async (dir) => {
      const blocked = join(dir, 'blocked');
      writeFileSync(blocked, 'a file, not a folder');
      expect(saveWindowState(join(blocked, 'state.json'), defaultWindowState)).toBe(false);

      const folder = join(dir, 'ok');
      mkdirSync(folder);
      const file = join(folder, 'state.json');
      expect(saveWindowState(file, { ...defaultWindowState, width: 1111 })).toBe(true);
      expect(existsSync(`${file}.${process.pid}.tmp`)).toBe(false);
      expect(loadWindowState(file).width).toBe(1111);
    });
  });
});
