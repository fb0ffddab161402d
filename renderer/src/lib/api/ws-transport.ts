// The web mode's LabTransport: the same requests as Electron IPC, carried over one WebSocket.
// Auth is the HttpOnly cookie the server set when the tokened URL was opened.
import type { ApiMethod, LabTransport } from '../../../../electron/common/api';
import type { Result } from '../../../../electron/common/errors';
import type { LabEventName, LabEvents } from '../../../../electron/common/events';
import type { WsServerFrame } from '../../../../electron/common/ws-protocol';

export interface SocketLike {
  readyState: number;
  send(data: string): void;
  close(): void;
  onopen: ((ev: Event) => void) | null;
  onclose: ((ev: CloseEvent) => void) | null;
  onmessage: ((ev: MessageEvent) => void) | null;
  onerror: ((ev: Event) => void) | null;
}

export type SocketFactory = (url: string) => SocketLike;

export type ConnectionStatus = 'connecting' | 'open' | 'closed';

const lost = {
  ok: false as const,
  error: {
    code: 'UNAVAILABLE' as const,
    message: 'Lost the connection to the kdlab back end.',
    hint: 'Is kdlab serve still running? Reload the page.',
  },
};

export class WebSocketTransport implements LabTransport {
  readonly #url: string;
  readonly #factory: SocketFactory;
  #socket: SocketLike | null = null;
  #nextId = 1;
  readonly #pending = new Map<number, (result: Result<unknown>) => void>();
  #queue: string[] = [];
  readonly #listeners = new Map<LabEventName, Set<(payload: never) => void>>();
  readonly #statusListeners = new Set<(status: ConnectionStatus) => void>();
  #retry = 0;
  #closed = false;
  #timer: ReturnType<typeof setTimeout> | null = null;

  constructor(url: string, factory: SocketFactory = (u) => new WebSocket(u)) {
    this.#url = url;
    this.#factory = factory;
    this.#connect();
  }

  invoke(method: ApiMethod, args: unknown): Promise<Result<unknown>> {
    const id = this.#nextId++;
    const frame = JSON.stringify({ type: 'request', id, method, args });
    return new Promise((resolve) => {
      this.#pending.set(id, resolve);
      if (this.#socket?.readyState === 1) this.#socket.send(frame);
      else this.#queue.push(frame);
    });
  }

  on<E extends LabEventName>(event: E, listener: (payload: LabEvents[E]) => void): () => void {
    let set = this.#listeners.get(event);
    if (!set) {
      set = new Set();
      this.#listeners.set(event, set);
    }
    set.add(listener);
    return () => set.delete(listener);
  }

  onStatus(listener: (status: ConnectionStatus) => void): () => void {
    this.#statusListeners.add(listener);
    return () => this.#statusListeners.delete(listener);
  }

  close(): void {
    this.#closed = true;
    if (this.#timer) clearTimeout(this.#timer);
    this.#socket?.close();
  }

  #status(status: ConnectionStatus): void {
    for (const listener of this.#statusListeners) listener(status);
  }

  #connect(): void {
    this.#status('connecting');
    const socket = this.#factory(this.#url);
    this.#socket = socket;
    socket.onopen = () => {
      this.#retry = 0;
      this.#status('open');
      const queued = this.#queue;
      this.#queue = [];
      for (const frame of queued) socket.send(frame);
    };
    socket.onmessage = (ev: MessageEvent) => this.#receive(String(ev.data));
    socket.onerror = () => undefined;
    socket.onclose = () => {
      // Requests in flight will never be answered: fail them as data.
      for (const resolve of this.#pending.values()) resolve(lost);
      this.#pending.clear();
      this.#queue = [];
      this.#status('closed');
      if (this.#closed) return;
      const delay = Math.min(10_000, 250 * 2 ** this.#retry++);
      this.#timer = setTimeout(() => this.#connect(), delay);
    };
  }

  #receive(text: string): void {
    let frame: WsServerFrame;
    try {
      frame = JSON.parse(text) as WsServerFrame;
    } catch {
      return;
    }
    if (frame.type === 'response') {
      const resolve = this.#pending.get(frame.id);
      if (!resolve) return;
      this.#pending.delete(frame.id);
      resolve(frame.ok ? { ok: true, result: frame.result } : { ok: false, error: frame.error });
      return;
    }
    for (const listener of this.#listeners.get(frame.event) ?? [])
      (listener as (p: unknown) => void)(frame.payload);
  }
}
