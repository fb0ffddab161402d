// kdlab's own files opened from the OS (file associations): argv of the first instance, of a second
// instance, macOS open-file — each an app.command for the page, held until the page has loaded.
import { rm } from 'node:fs/promises';
import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest';
import { ipcChannels } from '../../electron/common/api';
import type { AppCommand } from '../../electron/common/events';
import type { ApiHandlers } from '../../electron/lab/dispatcher';
import { createDispatcher } from '../../electron/lab/dispatcher';
import { EventBus } from '../../electron/lab/event-bus';
import { startApp } from '../../electron/main/app';
import type { AppBackend } from '../../electron/main/app';
import { OpenedFiles, filesFromArgv, openedFileCommand } from '../../electron/main/open-files';
import { makeTempDir } from '../helpers/temp';
import { BrowserWindow, app, mockEvent, resetElectronMock } from '../mocks/electron';
import type { MockBrowserWindow } from '../mocks/electron';

describe('opened files', () => {
  it('knows kdlab-pack and kdlab-report files and nothing else', () => {
    expect(openedFileCommand('/home/t/lab1.kdlab-pack')).toEqual({
      command: 'open-file',
      kind: 'pack',
      path: '/home/t/lab1.kdlab-pack',
    });
    expect(openedFileCommand('/s/LI.KDLAB-REPORT')).toMatchObject({ kind: 'report' });
    expect(openedFileCommand('/s/notes.txt')).toBeNull();
    expect(openedFileCommand('/s/kdlab-pack')).toBeNull();
  });

  it('takes them from argv: after the executable, no options, relative paths resolved', () => {
    expect(
      filesFromArgv(
        [
          '/opt/kdlab/kdlab',
          '--no-sandbox',
          'lab.kdlab-pack',
          '/abs/s1.kdlab-report',
          'readme.md',
          '--flag=x.kdlab-pack',
        ],
        '/home/t',
      ),
    ).toEqual(['/home/t/lab.kdlab-pack', '/abs/s1.kdlab-report']);
    expect(filesFromArgv(['/opt/kdlab/x.kdlab-pack'], '/')).toEqual([]);
  });

  it('holds commands until the page is ready, then sends them in order', () => {
    const sent: AppCommand[] = [];
    const opened = new OpenedFiles((c) => sent.push(c));
    expect(opened.open('/a.kdlab-pack')).toBe(true);
    expect(opened.open('/b.txt')).toBe(false);
    opened.open('/c.kdlab-report');
    expect(sent).toEqual([]);
    opened.ready();
    expect(sent.map((c) => (c.command === 'open-file' ? c.path : ''))).toEqual([
      '/a.kdlab-pack',
      '/c.kdlab-report',
    ]);
    opened.open('/d.kdlab-pack');
    expect(sent).toHaveLength(3);
    opened.notReady();
    opened.open('/e.kdlab-pack');
    expect(sent).toHaveLength(3);
    expect(opened.pending).toHaveLength(1);
  });
});

describe('startApp with opened files', () => {
  let userData: string;

  beforeEach(async () => {
    resetElectronMock();
    userData = await makeTempDir();
    app.paths.userData = userData;
  });

  afterEach(async () => {
    await rm(userData, { recursive: true, force: true });
  });

  function backend(): AppBackend {
    return {
      dispatch: createDispatcher({} as ApiHandlers),
      events: new EventBus(),
      terminals: { closeAllOf: () => undefined },
      dispose: () => Promise.resolve(),
    };
  }

  const commandsSentTo = (win: MockBrowserWindow): unknown[] =>
    win.webContents.sent
      .filter((m) => m.channel === ipcChannels.event)
      .map((m) => m.args[0] as { event: string; payload: unknown })
      .filter((m) => m.event === 'app.command')
      .map((m) => m.payload);

  async function started(argv: string[]): Promise<MockBrowserWindow> {
    // macOS sends open-file before ready when a file launches the app.
    startApp({ createBackend: () => Promise.resolve(backend()), platform: 'darwin', argv, cwd: '/home/t' });
    const early = mockEvent();
    app.emit('open-file', early, '/Users/t/early.kdlab-report');
    expect(early.defaultPrevented).toBe(true);
    app.markReady();
    await vi.waitFor(() => expect(BrowserWindow.instances).toHaveLength(1));
    return BrowserWindow.instances[0]!;
  }

  it('sends the first instance’s files and early open-file once the page has loaded', async () => {
    const win = await started(['/opt/kdlab/kdlab', 'lab1.kdlab-pack']);
    expect(commandsSentTo(win)).toEqual([]);
    win.webContents.emit('did-start-loading');
    win.webContents.emit('did-finish-load');
    expect(commandsSentTo(win)).toEqual([
      { command: 'open-file', kind: 'pack', path: '/home/t/lab1.kdlab-pack' },
      { command: 'open-file', kind: 'report', path: '/Users/t/early.kdlab-report' },
    ]);
  });

  it('opens a second instance’s files in the running window and brings it forward', async () => {
    const win = await started(['/opt/kdlab/kdlab']);
    win.webContents.emit('did-finish-load');
    win.minimize();
    app.emit(
      'second-instance',
      mockEvent(),
      ['/opt/kdlab/kdlab', 's2.kdlab-report', 'x.log'],
      '/tmp/class',
      {},
    );
    expect(win.isMinimized()).toBe(false);
    expect(commandsSentTo(win).at(-1)).toEqual({
      command: 'open-file',
      kind: 'report',
      path: '/tmp/class/s2.kdlab-report',
    });
    // A reload holds commands until the page listens again.
    win.webContents.emit('did-start-loading');
    app.emit('open-file', mockEvent(), '/Users/t/lab2.kdlab-pack');
    const before = commandsSentTo(win).length;
    win.webContents.emit('did-finish-load');
    expect(commandsSentTo(win)).toHaveLength(before + 1);
  });

  it('reopens a window for a file opened after the last one closed (macOS)', async () => {
    const win = await started(['/opt/kdlab/kdlab']);
    win.webContents.emit('did-finish-load');
    win.close();
    app.emit('open-file', mockEvent(), '/Users/t/lab3.kdlab-pack');
    const next = BrowserWindow.instances[1]!;
    expect(next).toBeDefined();
    next.webContents.emit('did-finish-load');
    expect(commandsSentTo(next)).toEqual([
      { command: 'open-file', kind: 'pack', path: '/Users/t/lab3.kdlab-pack' },
    ]);
  });
});
