import { beforeEach, describe, expect, it, vi } from 'vitest';
import { ipcChannels } from '../../electron/common/api';
import type { ApiHandlers, ClientContext, Dispatch } from '../../electron/lab/dispatcher';
import { createDispatcher } from '../../electron/lab/dispatcher';
import { registerIpcApi, webContentsClient } from '../../electron/main/ipc';
import type { IpcApiOptions } from '../../electron/main/ipc';
import { MockWebContents, MockWebFrameMain, ipcMain, resetElectronMock } from '../mocks/electron';

function handlers(overrides: Partial<ApiHandlers>): ApiHandlers {
  const notUsed = () => {
    throw new Error('not used in this test');
  };
  return new Proxy(overrides, {
    get: (target, key) => target[key as keyof ApiHandlers] ?? notUsed,
  }) as ApiHandlers;
}

/** A window of ours with its page loaded from lab://app. */
function labWindow(url = 'lab://app/index.html'): MockWebContents {
  const contents = new MockWebContents();
  contents.mainFrame.url = url;
  return contents;
}

const invoke = (contents: MockWebContents, frame: MockWebFrameMain | null, method: unknown, args: unknown) =>
  ipcMain.invoke(ipcChannels.invoke, { sender: contents, senderFrame: frame }, method, args);

describe('registerIpcApi', () => {
  let trusted: Set<number>;
  let cancelled: string[];
  let seenClients: ClientContext[];
  const options: IpcApiOptions = { isTrustedSender: (_frame, sender) => trusted.has(sender.id) };

  beforeEach(() => {
    resetElectronMock();
    trusted = new Set();
    cancelled = [];
    seenClients = [];
    const dispatch = createDispatcher(
      handlers({
        'jobs.cancel': (args, client) => {
          cancelled.push(args.id);
          seenClients.push(client);
          throw new Error('no such job');
        },
        'jobs.list': (_args, client) => {
          seenClients.push(client);
          client.emit('job.log', { id: 'j1', text: 'hello\n' });
          return [];
        },
      }),
    );
    registerIpcApi(ipcMain, dispatch, options);
  });

  it('registers exactly one handler, on the contract channel', () => {
    expect([...ipcMain.handlers.keys()]).toEqual([ipcChannels.invoke]);
  });

  it('answers a trusted window and pushes its events back on the event channel', async () => {
    const contents = labWindow();
    trusted.add(contents.id);
    expect(await invoke(contents, contents.mainFrame, 'jobs.list', {})).toEqual({ ok: true, result: [] });
    expect(seenClients[0]?.clientId).toBe(`window-${contents.id}`);
    expect(contents.sent).toEqual([
      { channel: ipcChannels.event, args: [{ event: 'job.log', payload: { id: 'j1', text: 'hello\n' } }] },
    ]);
  });

  it('gives a window the same client on every call', async () => {
    const contents = labWindow();
    trusted.add(contents.id);
    await invoke(contents, contents.mainFrame, 'jobs.list', {});
    await invoke(contents, contents.mainFrame, 'jobs.list', {});
    expect(seenClients[0]).toBe(seenClients[1]);
    expect(seenClients[0]).toBe(webContentsClient(contents));
  });

  const untrusted: [string, () => { contents: MockWebContents; frame: MockWebFrameMain | null }][] = [
    [
      'a window kdlab did not create',
      () => {
        const contents = labWindow();
        return { contents, frame: contents.mainFrame };
      },
    ],
    [
      'a frame that is gone',
      () => {
        const contents = labWindow();
        trusted.add(contents.id);
        return { contents, frame: null };
      },
    ],
    [
      'a page navigated to https://evil.example',
      () => {
        const contents = labWindow('https://evil.example/');
        trusted.add(contents.id);
        return { contents, frame: contents.mainFrame };
      },
    ],
    [
      'a file:// page',
      () => {
        const contents = labWindow('file:///tmp/x.html');
        trusted.add(contents.id);
        return { contents, frame: contents.mainFrame };
      },
    ],
    [
      'another lab:// host',
      () => {
        const contents = labWindow('lab://evil/index.html');
        trusted.add(contents.id);
        return { contents, frame: contents.mainFrame };
      },
    ],
    [
      'a lab://app subframe of our window',
      () => {
        const contents = labWindow();
        trusted.add(contents.id);
        return { contents, frame: new MockWebFrameMain('lab://app/frame.html', contents.mainFrame) };
      },
    ],
  ];

  it.each(untrusted)('refuses %s with FORBIDDEN data and never dispatches', async (_name, make) => {
    const { contents, frame } = make();
    const result = await invoke(contents, frame, 'jobs.cancel', { id: 'j1' });
    expect(result).toMatchObject({ ok: false, error: { code: 'FORBIDDEN', hint: null } });
    expect(cancelled).toEqual([]);
    expect(contents.sent).toEqual([]);
  });

  it('refuses a frame that throws when read (disposed mid-call) as FORBIDDEN', async () => {
    const contents = labWindow();
    trusted.add(contents.id);
    const frame = {
      get url(): string {
        throw new Error('Render frame was disposed before WebFrameMain could be accessed');
      },
      parent: null,
    } as unknown as MockWebFrameMain;
    expect(await invoke(contents, frame, 'jobs.list', {})).toMatchObject({
      ok: false,
      error: { code: 'FORBIDDEN' },
    });
  });

  it.each([
    ['a wrong type', { id: 42 }],
    ['an extra field', { id: 'j1', path: '/etc/shadow' }],
    ['no arguments object', 'j1'],
  ])('answers a trusted sender with %s with BAD_REQUEST data', async (_name, args) => {
    const contents = labWindow();
    trusted.add(contents.id);
    const result = await invoke(contents, contents.mainFrame, 'jobs.cancel', args);
    expect(result).toMatchObject({ ok: false, error: { code: 'BAD_REQUEST' } });
    expect(cancelled).toEqual([]);
  });

  it('answers an unknown method with UNKNOWN_METHOD and a handler failure as data', async () => {
    const contents = labWindow();
    trusted.add(contents.id);
    expect(await invoke(contents, contents.mainFrame, 'fs.readFile', {})).toMatchObject({
      ok: false,
      error: { code: 'UNKNOWN_METHOD' },
    });
    expect(await invoke(contents, contents.mainFrame, 'jobs.cancel', { id: 'j1' })).toMatchObject({
      ok: false,
      error: { code: 'INTERNAL', message: 'no such job' },
    });
    expect(cancelled).toEqual(['j1']);
  });

  it('turns a dispatcher that throws into error data instead of a rejected invoke', async () => {
    resetElectronMock();
    const broken: Dispatch = () => Promise.reject(new Error('boom'));
    registerIpcApi(ipcMain, broken, { isTrustedSender: () => true });
    const contents = labWindow();
    await expect(invoke(contents, contents.mainFrame, 'app.info', {})).resolves.toMatchObject({
      ok: false,
      error: { code: 'INTERNAL', message: 'boom' },
    });
  });

  it('unregisters its handler', () => {
    resetElectronMock();
    const unregister = registerIpcApi(ipcMain, vi.fn(), options);
    expect(ipcMain.handlers.has(ipcChannels.invoke)).toBe(true);
    unregister();
    expect(ipcMain.handlers.size).toBe(0);
  });
});

describe('webContentsClient', () => {
  it('drops events for a destroyed window instead of throwing', () => {
    const contents = labWindow();
    const client = webContentsClient(contents);
    client.emit('terminal.data', { id: 't1', data: 'x' });
    contents.destroy();
    expect(() => client.emit('terminal.data', { id: 't1', data: 'y' })).not.toThrow();
    expect(contents.sent).toHaveLength(1);
  });
});
