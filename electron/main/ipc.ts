// The one IPC entry point: sender validated first, then the dispatcher validates the arguments.
// Every outcome goes back as Result data; nothing is thrown across the bridge.
import { ipcChannels } from '../common/api';
import { toErrorData } from '../common/errors';
import type { Result } from '../common/errors';
import type { ClientContext, Dispatch } from '../lab/dispatcher';
import { isLabAppUrl } from './protocol';

/** The parts of Electron's WebFrameMain the check reads. */
export interface SenderFrame {
  readonly url: string;
  readonly parent: object | null;
}

/** The parts of Electron's WebContents a window client uses. */
export interface SenderContents {
  readonly id: number;
  isDestroyed(): boolean;
  send(channel: string, ...args: unknown[]): void;
}

export interface InvokeEvent {
  readonly senderFrame: SenderFrame | null;
  readonly sender: SenderContents;
}

export interface IpcMainLike {
  handle(channel: string, listener: (event: InvokeEvent, ...args: unknown[]) => Promise<unknown>): void;
  removeHandler(channel: string): void;
}

export interface IpcApiOptions {
  /** True when `sender` is a window kdlab created and `frame` is its top frame. */
  isTrustedSender(frame: SenderFrame, sender: SenderContents): boolean;
}

const clients = new WeakMap<SenderContents, ClientContext>();

/** The client of one window: one id for its whole life, events pushed with webContents.send. */
export function webContentsClient(contents: SenderContents): ClientContext {
  let client = clients.get(contents);
  if (!client) {
    client = {
      clientId: `window-${contents.id}`,
      emit(event, payload) {
        if (contents.isDestroyed()) return;
        contents.send(ipcChannels.event, { event, payload });
      },
    };
    clients.set(contents, client);
  }
  return client;
}

function forbidden(message: string): Result<never> {
  return { ok: false, error: { code: 'FORBIDDEN', message, hint: null } };
}

/** Why a sender is refused, or null when it may call the API. */
export function senderProblem(event: InvokeEvent, options: IpcApiOptions): string | null {
  try {
    const frame = event.senderFrame;
    if (!frame) return 'the calling frame is gone';
    if (!isLabAppUrl(frame.url)) return 'the calling page is not lab://app';
    if (frame.parent !== null) return 'subframes may not call the API';
    if (!options.isTrustedSender(frame, event.sender)) return 'the calling window is not a kdlab window';
    return null;
  } catch {
    // A frame disposed mid-call throws on access.
    return 'the calling frame is gone';
  }
}

/** Registers the API on `ipcChannels.invoke`; returns the unregister function. */
export function registerIpcApi(ipcMain: IpcMainLike, dispatch: Dispatch, options: IpcApiOptions): () => void {
  ipcMain.handle(ipcChannels.invoke, async (event, method, args): Promise<Result<unknown>> => {
    const problem = senderProblem(event, options);
    if (problem !== null) return forbidden(`Refused an API call: ${problem}.`);
    try {
      return await dispatch(method, args, webContentsClient(event.sender));
    } catch (error) {
      return { ok: false, error: toErrorData(error) };
    }
  });
  return () => ipcMain.removeHandler(ipcChannels.invoke);
}
