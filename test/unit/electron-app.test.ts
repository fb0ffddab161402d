import { rm } from 'node:fs/promises';
import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest';
import { ipcChannels } from '../../electron/common/api';
import type { LabBackendOptions } from '../../electron/lab/lab-backend';
import type { ApiHandlers } from '../../electron/lab/dispatcher';
import { createDispatcher } from '../../electron/lab/dispatcher';
import { EventBus } from '../../electron/lab/event-bus';
import { appPaths, startApp, unpackedPath } from '../../electron/main/app';
import type { AppBackend, StartAppOptions } from '../../electron/main/app';
import { makeTempDir } from '../helpers/temp';
import {
  BrowserWindow,
  MockWebContents,
  app,
  dialog,
  ipcMain,
  mockEvent,
  protocol,
  resetElectronMock,
  session,
  shell,
} from '../mocks/electron';
import type { MockWebFrameMain } from '../mocks/electron';

interface FakeBackend extends AppBackend {
  options: LabBackendOptions;
  closedTerminalsOf: string[];
  disposeCalls: number;
}

function fakeBackend(options: LabBackendOptions, dispose: () => Promise<void> = () => Promise.resolve()) {
  const events = new EventBus();
  const handlers = {
    'app.info': () => ({
      name: 'kdlab',
      version: options.version,
      mode: options.mode,
      workspace: '/w',
      platform: 'linux-x64',
      node: '20',
    }),
  } as Partial<ApiHandlers> as ApiHandlers;
  const backend: FakeBackend = {
    options,
    closedTerminalsOf: [],
    disposeCalls: 0,
    dispatch: createDispatcher(handlers),
    events,
    terminals: { closeAllOf: (owner: string) => backend.closedTerminalsOf.push(owner) },
    dispose: () => {
      backend.disposeCalls += 1;
      return dispose();
    },
  };
  return backend;
}

const invokeFrom = (
  contents: MockWebContents,
  frame: MockWebFrameMain | null,
  method: string,
  args: unknown,
) => ipcMain.invoke(ipcChannels.invoke, { sender: contents, senderFrame: frame }, method, args);

let userData: string;
let backends: FakeBackend[];

async function start(overrides: Partial<StartAppOptions> = {}, dispose?: () => Promise<void>) {
  startApp({
    createBackend: (options) => {
      const backend = fakeBackend(options, dispose);
      backends.push(backend);
      return Promise.resolve(backend);
    },
    platform: 'linux',
    ...overrides,
  });
  app.markReady();
  await vi.waitFor(() => expect(BrowserWindow.instances).toHaveLength(1));
  const win = BrowserWindow.instances[0];
  if (!win) throw new Error('no window');
  return win;
}

beforeEach(async () => {
  resetElectronMock();
  userData = await makeTempDir();
  app.paths.userData = userData;
  app.appPath = '/opt/kdlab';
  app.version = '1.2.3';
  backends = [];
});

afterEach(async () => {
  vi.restoreAllMocks();
  await rm(userData, { recursive: true, force: true });
});

describe('startApp before ready', () => {
  it('registers lab:// as privileged before ready and serves it only after', () => {
    startApp({ createBackend: () => Promise.reject(new Error('not reached')) });
    expect(protocol.privilegedSchemes.map((s) => s.scheme)).toEqual(['lab']);
    expect(protocol.handlers.size).toBe(0);
  });

  it('quits at once, without a back end or a window, when another instance runs', async () => {
    app.gotLock = false;
    const createBackend = vi.fn();
    startApp({ createBackend });
    app.markReady();
    await new Promise((resolve) => setTimeout(resolve, 10));
    expect(app.quitted).toBe(true);
    expect(createBackend).not.toHaveBeenCalled();
    expect(BrowserWindow.instances).toHaveLength(0);
  });
});

describe('startApp when ready', () => {
  it('creates the back end in electron mode with the app version, install folder and openExternal', async () => {
    await start();
    const [backend] = backends;
    expect(backend?.options).toMatchObject({ mode: 'electron', version: '1.2.3', appRoot: '/opt/kdlab' });
    await backend?.options.openExternal?.(new URL('https://kernel.org/'));
    expect(shell.opened).toEqual(['https://kernel.org/']);
  });

  it('opens one hardened window on lab://app with the bundled preload', async () => {
    const win = await start();
    expect(win.options.webPreferences).toMatchObject({
      preload: '/opt/kdlab/dist/electron/preload.cjs',
      sandbox: true,
      contextIsolation: true,
    });
    expect(win.loadedUrls).toEqual(['lab://app/index.html']);
    expect(protocol.handlers.has('lab')).toBe(true);
    expect(win.webContents.navigate('https://evil.example/')).toBe(true);
    expect(session.defaultSession.checkPermission('media', 'lab://app')).toBe(false);
  });

  it('answers the window over IPC and pushes back end events to it', async () => {
    const win = await start();
    const contents = win.webContents;
    expect(await invokeFrom(contents, contents.mainFrame, 'app.info', {})).toMatchObject({
      ok: true,
      result: { mode: 'electron', version: '1.2.3' },
    });
    backends[0]?.events.broadcast('job.log', { id: 'j', text: 'hi' });
    expect(contents.sent).toContainEqual({
      channel: ipcChannels.event,
      args: [{ event: 'job.log', payload: { id: 'j', text: 'hi' } }],
    });
  });

  it('refuses a lab://app page in web contents it did not create', async () => {
    await start();
    const stranger = new MockWebContents();
    stranger.mainFrame.url = 'lab://app/index.html';
    expect(await invokeFrom(stranger, stranger.mainFrame, 'app.info', {})).toMatchObject({
      ok: false,
      error: { code: 'FORBIDDEN' },
    });
  });

  it('on close: detaches the window, closes its terminals, stops trusting it', async () => {
    const win = await start({ platform: 'darwin' });
    const contents = win.webContents;
    const backend = backends[0];
    expect(backend?.events.clientCount).toBe(2); // the window and the job watcher
    win.close();
    expect(backend?.events.clientCount).toBe(1);
    expect(backend?.closedTerminalsOf).toEqual([`window-${contents.id}`]);
    expect(await invokeFrom(contents, contents.mainFrame, 'app.info', {})).toMatchObject({
      ok: false,
      error: { code: 'FORBIDDEN' },
    });
  });

  it('stays running on macOS when the window closes, and reopens it on activate', async () => {
    const win = await start({ platform: 'darwin' });
    win.close();
    expect(app.quitRequests).toBe(0);
    app.emit('activate', mockEvent(), false);
    expect(BrowserWindow.getAllWindows()).toHaveLength(1);
    expect(BrowserWindow.instances).toHaveLength(2);
  });

  it('brings the window back when a second instance starts', async () => {
    const win = await start();
    win.minimize();
    app.emit('second-instance', mockEvent(), ['kdlab'], '/', {});
    expect(win.isMinimized()).toBe(false);
    expect(win.isFocused()).toBe(true);
    expect(BrowserWindow.instances).toHaveLength(1);
  });

  it('remembers the window bounds in userData', async () => {
    const win = await start({ platform: 'darwin' });
    win.setBounds({ width: 1000, height: 700 });
    win.close();
    app.emit('activate', mockEvent(), false);
    expect(BrowserWindow.instances[1]?.options).toMatchObject({ width: 1000, height: 700 });
  });

  it('sets the AppUserModelId on Windows only (notifications need it)', async () => {
    await start({ platform: 'win32' });
    expect(app.appUserModelId).toBe('org.kdlab.app');
  });
});

describe('quitting', () => {
  it('quits on Linux when the last window closes, after the back end has stopped', async () => {
    let finish!: () => void;
    const win = await start({}, () => new Promise<void>((resolve) => (finish = resolve)));
    win.close();
    await vi.waitFor(() => expect(backends[0]?.disposeCalls).toBe(1));
    await new Promise((resolve) => setTimeout(resolve, 20));
    expect(app.quitted).toBe(false);
    finish();
    await vi.waitFor(() => expect(app.quitted).toBe(true));
    expect(backends[0]?.disposeCalls).toBe(1);
  });

  it('does not wait forever for a back end that will not stop', async () => {
    const warn = vi.spyOn(console, 'warn').mockImplementation(() => undefined);
    await start({ disposeTimeoutMs: 20 }, () => new Promise<void>(() => undefined));
    app.quit();
    await vi.waitFor(() => expect(app.quitted).toBe(true));
    expect(warn).toHaveBeenCalledWith(expect.stringContaining('did not stop'));
  });

  it('still quits when disposing fails', async () => {
    vi.spyOn(console, 'error').mockImplementation(() => undefined);
    await start({}, () => Promise.reject(new Error('kill failed')));
    app.quit();
    await vi.waitFor(() => expect(app.quitted).toBe(true));
  });

  it('reports a back end that cannot start and exits with 1', async () => {
    startApp({
      createBackend: () => Promise.reject(new Error('~/kdlab is not writable: run chown')),
      platform: 'linux',
    });
    app.markReady();
    await vi.waitFor(() => expect(app.exitCode).toBe(1));
    expect(dialog.errorBoxes).toEqual([
      { title: 'kdlab could not start', content: '~/kdlab is not writable: run chown' },
    ]);
    expect(BrowserWindow.instances).toHaveLength(0);
  });
});

describe('paths', () => {
  it('finds the renderer and preload in the app folder, and the back end files outside app.asar', () => {
    expect(appPaths('/opt/kdlab')).toEqual({
      rendererRoot: '/opt/kdlab/dist/renderer',
      preloadPath: '/opt/kdlab/dist/electron/preload.cjs',
      backendRoot: '/opt/kdlab',
    });
    expect(appPaths('/opt/kdlab/resources/app.asar')).toEqual({
      rendererRoot: '/opt/kdlab/resources/app.asar/dist/renderer',
      preloadPath: '/opt/kdlab/resources/app.asar/dist/electron/preload.cjs',
      backendRoot: '/opt/kdlab/resources/app.asar.unpacked',
    });
    expect(unpackedPath('/home/me/src/kdlab')).toBe('/home/me/src/kdlab');
  });
});
