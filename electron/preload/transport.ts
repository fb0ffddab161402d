// LabTransport over Electron IPC. Only plain data crosses: the method and its arguments one way,
// Result data and event payloads the other. The IpcRendererEvent is never handed to the page.
import { ipcChannels } from '../common/ipc-channels';
import type { ApiMethod, LabTransport } from '../common/api';
import { toErrorData } from '../common/errors';
import type { Result } from '../common/errors';
import type { LabEventName, LabEvents } from '../common/events';
import type { UiLanguage } from '../common/job-notices';
import type { SaveFileRequest, SaveFileResult } from '../common/save-file';

/** `window.lab` */
export const labGlobalName = 'lab';

type IpcListener = (event: unknown, ...args: unknown[]) => void;

/** The parts of Electron's ipcRenderer the transport uses. */
export interface IpcRendererLike {
  invoke(channel: string, ...args: unknown[]): Promise<unknown>;
  on(channel: string, listener: IpcListener): unknown;
  removeListener(channel: string, listener: IpcListener): unknown;
}

function isEventMessage(value: unknown): value is { event: string; payload: unknown } {
  return (
    typeof value === 'object' && value !== null && typeof (value as { event?: unknown }).event === 'string'
  );
}

export function createTransport(ipc: IpcRendererLike, pathForFile?: (file: File) => string): LabTransport {
  // One IPC listener for all subscriptions (no MaxListeners warnings with many terminals).
  const listeners = new Map<string, Set<(payload: unknown) => void>>();
  let attached = false;
  const onMessage: IpcListener = (_event, message) => {
    if (!isEventMessage(message)) return;
    const subscribed = listeners.get(message.event);
    if (!subscribed) return;
    for (const listener of [...subscribed]) {
      try {
        listener(message.payload);
      } catch (error) {
        console.error(`kdlab: a ${message.event} listener threw`, error);
      }
    }
  };

  const request = async <T>(channel: string, arg: unknown): Promise<Result<T>> => {
    try {
      return (await ipc.invoke(channel, arg)) as Result<T>;
    } catch (error) {
      return { ok: false, error: toErrorData(error) };
    }
  };

  return {
    // Only the path crosses (the page already holds the File); '' when it has none (e.g. a blob).
    ...(pathForFile ? { pathForFile: (file: File) => pathForFile(file) } : {}),

    // The main process shows the dialog and writes the file: the page never names a path.
    saveFile: (save: SaveFileRequest) => request<SaveFileResult>(ipcChannels.saveFile, save),
    setLanguage: (language: UiLanguage) => request<null>(ipcChannels.setLanguage, language),

    async invoke(method: ApiMethod, args: unknown): Promise<Result<unknown>> {
      try {
        return (await ipc.invoke(ipcChannels.invoke, method, args)) as Result<unknown>;
      } catch (error) {
        // E.g. arguments that cannot be cloned: still an error as data, like every other failure.
        return { ok: false, error: toErrorData(error) };
      }
    },

    on<E extends LabEventName>(event: E, listener: (payload: LabEvents[E]) => void): () => void {
      if (typeof listener !== 'function') throw new TypeError('lab.on needs a listener function');
      // A wrapper per subscription: the same function subscribed twice is unsubscribed once each.
      const entry = (payload: unknown): void => listener(payload as LabEvents[E]);
      let subscribed = listeners.get(event);
      if (!subscribed) {
        subscribed = new Set();
        listeners.set(event, subscribed);
      }
      subscribed.add(entry);
      if (!attached) {
        ipc.on(ipcChannels.event, onMessage);
        attached = true;
      }
      let active = true;
      return () => {
        if (!active) return;
        active = false;
        const current = listeners.get(event);
        if (!current) return;
        current.delete(entry);
        if (current.size === 0) listeners.delete(event);
        if (listeners.size === 0 && attached) {
          ipc.removeListener(ipcChannels.event, onMessage);
          attached = false;
        }
      };
    },
  };
}
