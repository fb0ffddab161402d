// The main process's own requests (save a file with the native dialog; the UI's language for the
// menu and notifications), through startApp with the electron mock: the window kdlab opened is the
// caller, as in the app.
import { readFile, readdir, rm } from 'node:fs/promises';
import { join } from 'node:path';
import type { MenuItemConstructorOptions } from 'electron';
import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest';
import { ipcChannels } from '../../electron/common/ipc-channels';
import type { JobInfo } from '../../electron/common/types';
import type { ApiHandlers } from '../../electron/lab/dispatcher';
import { createDispatcher } from '../../electron/lab/dispatcher';
import { EventBus } from '../../electron/lab/event-bus';
import { startApp } from '../../electron/main/app';
import { createTransport } from '../../electron/preload/transport';
import { makeTempDir } from '../helpers/temp';
import {
  BrowserWindow,
  Menu,
  MockWebContents,
  MockWebFrameMain,
  Notification,
  app,
  dialog,
  ipcMain,
  resetElectronMock,
} from '../mocks/electron';
import type { MockBrowserWindow } from '../mocks/electron';

let folder: string;
let win: MockBrowserWindow;
let events: EventBus;

const call = (channel: string, arg: unknown, contents: MockWebContents = win.webContents) =>
  ipcMain.invoke(channel, { sender: contents, senderFrame: contents.mainFrame }, arg);

const flat = (items: MenuItemConstructorOptions[]): MenuItemConstructorOptions[] =>
  items.flatMap((i) => [i, ...(Array.isArray(i.submenu) ? flat(i.submenu) : [])]);
const menuLabels = () =>
  flat((Menu.applicationMenu as { template: MenuItemConstructorOptions[] }).template).map((i) => i.label);

beforeEach(async () => {
  resetElectronMock();
  folder = await makeTempDir();
  app.paths.userData = join(folder, 'user-data');
  app.paths.downloads = join(folder, 'Downloads');
  events = new EventBus();
  startApp({
    createBackend: () =>
      Promise.resolve({
        dispatch: createDispatcher({} as ApiHandlers),
        events,
        terminals: { closeAllOf: () => undefined },
        dispose: () => Promise.resolve(),
      }),
    platform: 'linux',
  });
  app.markReady();
  await vi.waitFor(() => expect(BrowserWindow.instances).toHaveLength(1));
  win = BrowserWindow.instances[0]!;
});

afterEach(async () => {
  await rm(folder, { recursive: true, force: true });
});

describe('save a file', () => {
  it('asks with the native dialog in Downloads, then writes what the page gave to the chosen path', async () => {
    const target = join(folder, 'chosen', 'report.md');
    dialog.nextSave = target;
    // The preload's transport is what the page calls.
    const lab = createTransport({
      invoke: (channel, ...args) => call(channel, args[0]),
      on: () => undefined,
      removeListener: () => undefined,
    });
    const result = await lab.saveFile?.({
      name: 'crash-report.md',
      content: '# panic\n',
      format: 'markdown',
    });
    expect(result).toEqual({ ok: true, result: { saved: true, path: target } });
    expect(await readFile(target, 'utf8')).toBe('# panic\n');
    // Written through a temporary file that is gone now.
    expect(await readdir(join(folder, 'chosen'))).toEqual(['report.md']);
    expect(dialog.saveDialogs).toEqual([
      {
        defaultPath: join(folder, 'Downloads', 'crash-report.md'),
        filters: [
          { name: 'Markdown', extensions: ['md'] },
          { name: 'All files', extensions: ['*'] },
        ],
        properties: ['showOverwriteConfirmation', 'createDirectory'],
      },
    ]);
  });

  it('writes nothing when the user cancels', async () => {
    dialog.nextSave = null;
    expect(await call(ipcChannels.saveFile, { name: 'a.log', content: 'x', format: 'log' })).toEqual({
      ok: true,
      result: { saved: false, path: null },
    });
    await expect(readdir(join(folder, 'Downloads'))).rejects.toThrow(/ENOENT/);
  });

  it.each([
    ['a path instead of a name', { name: '../../.bashrc', content: 'x', format: 'log' }],
    ['an absolute path', { name: '/etc/passwd', content: 'x', format: 'log' }],
    ['a dot-file', { name: '.bashrc', content: 'x', format: 'log' }],
    ['an unknown format', { name: 'a.sh', content: 'x', format: 'script' }],
    ['a path the page picked', { name: 'a.log', content: 'x', format: 'log', path: '/tmp/a.log' }],
    ['no content', { name: 'a.log', format: 'log' }],
  ])('refuses %s without showing a dialog', async (_what, request) => {
    dialog.nextSave = join(folder, 'never.log');
    const result = await call(ipcChannels.saveFile, request);
    expect(result).toMatchObject({ ok: false, error: { code: 'BAD_REQUEST' } });
    expect(dialog.saveDialogs).toEqual([]);
  });

  it('refuses a sender that is not a kdlab window, or a subframe', async () => {
    dialog.nextSave = join(folder, 'never.log');
    const stranger = new MockWebContents();
    stranger.mainFrame.url = 'lab://app/index.html';
    const request = { name: 'a.log', content: 'x', format: 'log' };
    expect(await call(ipcChannels.saveFile, request, stranger)).toMatchObject({
      ok: false,
      error: { code: 'FORBIDDEN' },
    });
    const sub = await ipcMain.invoke(
      ipcChannels.saveFile,
      {
        sender: win.webContents,
        senderFrame: new MockWebFrameMain('lab://app/index.html', win.webContents.mainFrame),
      },
      request,
    );
    expect(sub).toMatchObject({ ok: false, error: { code: 'FORBIDDEN' } });
    expect(dialog.saveDialogs).toEqual([]);
  });

  it('says where it could not write, with what to do', async () => {
    // A folder where a file is expected: the rename fails.
    dialog.nextSave = folder;
    const result = await call(ipcChannels.saveFile, { name: 'a.log', content: 'x', format: 'log' });
    expect(result).toMatchObject({
      ok: false,
      error: { code: 'IO', message: expect.stringContaining(folder), hint: expect.any(String) },
    });
  });
});

describe('the UI language', () => {
  const kernelJob = (state: JobInfo['state'], endedAt: string | null): JobInfo => ({
    id: 'k1',
    kind: 'kernel-build',
    title: 'Building the kernel',
    state,
    progress: { fraction: null, message: '', etaSeconds: null },
    createdAt: '2026-11-22T10:00:00.000Z',
    endedAt,
    error: null,
    logPath: '/tmp/k1.log',
  });

  it('rebuilds the menu and words notifications in the language the page reports', async () => {
    expect(menuLabels()).toContain('Open Console Log…');
    expect(await call(ipcChannels.setLanguage, 'zh-CN')).toEqual({ ok: true, result: null });
    const labels = menuLabels();
    expect(labels).toEqual(expect.arrayContaining(['文件(&F)', '打开控制台日志…', '虚拟机', '设置…']));
    expect(labels).not.toContain('Open Console Log…');
    // The native open dialog's filter follows too.
    await (
      flat((Menu.applicationMenu as { template: MenuItemConstructorOptions[] }).template).find(
        (i) => i.label === '打开控制台日志…',
      )?.click as () => Promise<void>
    )();
    expect(dialog.openDialogs.at(-1)).toMatchObject({ filters: [{ name: '控制台日志' }] });

    win.blur();
    events.broadcast('job.updated', kernelJob('running', null));
    events.broadcast('job.updated', kernelJob('succeeded', '2026-11-22T10:04:13.000Z'));
    expect(Notification.instances.map((n) => n.options)).toEqual([
      { title: 'Building the kernel — 已完成', body: '用时 4 分 13 秒。' },
    ]);

    await call(ipcChannels.setLanguage, 'en');
    expect(menuLabels()).toContain('Open Console Log…');
  });

  it('refuses an unknown language or a stranger, and keeps the menu as it was', async () => {
    const before = menuLabels();
    expect(await call(ipcChannels.setLanguage, 'fr')).toMatchObject({
      ok: false,
      error: { code: 'BAD_REQUEST' },
    });
    const stranger = new MockWebContents();
    stranger.mainFrame.url = 'lab://app/index.html';
    expect(await call(ipcChannels.setLanguage, 'zh-CN', stranger)).toMatchObject({
      ok: false,
      error: { code: 'FORBIDDEN' },
    });
    expect(menuLabels()).toEqual(before);
  });
});
