import { beforeEach, describe, expect, it, vi } from 'vitest';
import { ipcChannels } from '../../electron/common/api';
import type { LabTransport } from '../../electron/common/api';
import { createLabApi } from '../../electron/common/client';
import { LabError } from '../../electron/common/errors';
import type { JobInfo } from '../../electron/common/types';
import { createTransport } from '../../electron/preload/transport';
import { contextBridge, ipcRenderer, resetElectronMock, webUtils } from '../mocks/electron';

beforeEach(() => {
  resetElectronMock();
  vi.restoreAllMocks();
});

const job: JobInfo = {
  id: 'j1',
  kind: 'doctor',
  title: 'Checking the host',
  state: 'running',
  progress: { fraction: 0.5, message: 'gdb', etaSeconds: null },
  createdAt: '2026-11-22T10:00:00.000Z',
  endedAt: null,
  error: null,
  logPath: '/tmp/j1.log',
};

describe('preload', () => {
  it('exposes exactly one object, window.lab, with only invoke, on, pathForFile, saveFile and setLanguage', async () => {
    await import('../../electron/preload/preload');
    expect([...contextBridge.exposed.keys()]).toEqual(['lab']);
    const lab = contextBridge.exposed.get('lab') as Record<string, unknown>;
    expect(Object.keys(lab).sort()).toEqual(['invoke', 'on', 'pathForFile', 'saveFile', 'setLanguage']);
    // A dropped file's path comes from webUtils (File.path is gone since Electron 32).
    const dropped = new File(['x'], 'vmcore');
    webUtils.paths.set(dropped, '/var/crash/vmcore');
    expect((lab.pathForFile as (f: File) => string)(dropped)).toBe('/var/crash/vmcore');
    expect((lab.pathForFile as (f: File) => string)(new File(['x'], 'blob'))).toBe('');
    expect(typeof lab.invoke).toBe('function');
    // Nothing that leads back to ipcRenderer.
    expect(Object.values(lab)).not.toContain(ipcRenderer);
  });
});

describe('createTransport', () => {
  let transport: LabTransport;

  beforeEach(() => {
    transport = createTransport(ipcRenderer);
  });

  it('forwards invoke to the contract channel with method and args, and returns the Result', async () => {
    ipcRenderer.respond = () => Promise.resolve({ ok: true, result: [job] });
    const result = await transport.invoke('jobs.list', {});
    expect(ipcRenderer.invocations).toEqual([{ channel: ipcChannels.invoke, args: ['jobs.list', {}] }]);
    expect(result).toEqual({ ok: true, result: [job] });
  });

  it('passes error data through, and createLabApi rebuilds the LabError', async () => {
    ipcRenderer.respond = () =>
      Promise.resolve({ ok: false, error: { code: 'FORBIDDEN', message: 'no', hint: null } });
    await expect(createLabApi(transport).invoke('jobs.list', {})).rejects.toMatchObject({
      name: 'LabError',
      code: 'FORBIDDEN',
    });
    await expect(createLabApi(transport).invoke('jobs.list', {})).rejects.toBeInstanceOf(LabError);
  });

  it('turns a rejected IPC call (e.g. uncloneable args) into error data', async () => {
    ipcRenderer.respond = () => Promise.reject(new Error('An object could not be cloned.'));
    await expect(transport.invoke('jobs.list', {})).resolves.toMatchObject({
      ok: false,
      error: { code: 'INTERNAL', message: 'An object could not be cloned.' },
    });
  });

  it('delivers only the subscribed event, payload only (never the IPC event object)', () => {
    const updates: unknown[][] = [];
    const logs: unknown[][] = [];
    transport.on('job.updated', (...args) => updates.push(args));
    transport.on('job.log', (...args) => logs.push(args));
    ipcRenderer.deliver(ipcChannels.event, { event: 'job.updated', payload: job });
    ipcRenderer.deliver(ipcChannels.event, { event: 'terminal.data', payload: { id: 't', data: 'x' } });
    ipcRenderer.deliver('some-other-channel', { event: 'job.updated', payload: job });
    expect(updates).toEqual([[job]]);
    expect(logs).toEqual([]);
  });

  it('ignores malformed messages', () => {
    const seen: unknown[] = [];
    transport.on('job.updated', (payload) => seen.push(payload));
    for (const message of [null, undefined, 'job.updated', 42, { payload: job }, { event: 7 }]) {
      ipcRenderer.deliver(ipcChannels.event, message);
    }
    expect(seen).toEqual([]);
  });

  it('unsubscribes, once, and uses a single IPC listener for all subscriptions', () => {
    const seen: string[] = [];
    const offs = [
      transport.on('terminal.data', (p) => seen.push(`a:${p.data}`)),
      transport.on('terminal.data', (p) => seen.push(`b:${p.data}`)),
      transport.on('terminal.exit', () => seen.push('exit')),
    ];
    expect(ipcRenderer.listenerCount(ipcChannels.event)).toBe(1);
    ipcRenderer.deliver(ipcChannels.event, { event: 'terminal.data', payload: { id: 't', data: '1' } });
    offs[0]?.();
    offs[0]?.();
    ipcRenderer.deliver(ipcChannels.event, { event: 'terminal.data', payload: { id: 't', data: '2' } });
    expect(seen).toEqual(['a:1', 'b:1', 'b:2']);
    offs[1]?.();
    offs[2]?.();
    expect(ipcRenderer.listenerCount(ipcChannels.event)).toBe(0);
    transport.on('terminal.exit', () => seen.push('again'));
    expect(ipcRenderer.listenerCount(ipcChannels.event)).toBe(1);
  });

  it('keeps the same function subscribed twice until both are unsubscribed', () => {
    let count = 0;
    const listener = () => count++;
    const off1 = transport.on('job.log', listener);
    transport.on('job.log', listener);
    off1();
    ipcRenderer.deliver(ipcChannels.event, { event: 'job.log', payload: { id: 'j', text: 'x' } });
    expect(count).toBe(1);
  });

  it('keeps delivering to the other listeners when one throws', () => {
    vi.spyOn(console, 'error').mockImplementation(() => undefined);
    const seen: string[] = [];
    transport.on('job.log', () => {
      throw new Error('listener bug');
    });
    transport.on('job.log', (p) => seen.push(p.text));
    ipcRenderer.deliver(ipcChannels.event, { event: 'job.log', payload: { id: 'j', text: 'ok' } });
    expect(seen).toEqual(['ok']);
  });

  it('refuses a listener that is not a function', () => {
    expect(() => transport.on('job.log', 'alert(1)' as never)).toThrow(TypeError);
  });
});
