// A minimal LabTransport over a Node WebSocket, for tests that talk to a real `kdlab serve`.
import WebSocket from 'ws';
import type { Result } from '../../electron/common/errors';
import type { LabEventName, LabEvents } from '../../electron/common/events';
import type { WsServerFrame } from '../../electron/common/ws-protocol';

export interface TestClient {
  invoke(method: string, args: unknown): Promise<Result<unknown>>;
  sendRaw(text: string): Promise<WsServerFrame>;
  events: { event: LabEventName; payload: LabEvents[LabEventName] }[];
  close(): void;
}

export async function connect(url: string, headers: Record<string, string> = {}): Promise<TestClient> {
  const ws = new WebSocket(url, { headers });
  await new Promise<void>((resolve, reject) => {
    ws.once('open', () => resolve());
    ws.once('error', reject);
    ws.once('unexpected-response', (_req, res) => reject(new Error(`HTTP ${res.statusCode}`)));
  });
  let nextId = 1;
  const pending = new Map<number, (frame: WsServerFrame) => void>();
  const events: TestClient['events'] = [];
  const rawWaiters: ((frame: WsServerFrame) => void)[] = [];
  ws.on('message', (data: Buffer) => {
    const frame = JSON.parse(data.toString('utf8')) as WsServerFrame;
    if (frame.type === 'event') {
      events.push({ event: frame.event, payload: frame.payload });
      return;
    }
    const waiter = pending.get(frame.id);
    if (waiter) {
      pending.delete(frame.id);
      waiter(frame);
    } else rawWaiters.shift()?.(frame);
  });
  return {
    events,
    invoke(method, args) {
      const id = nextId++;
      ws.send(JSON.stringify({ type: 'request', id, method, args }));
      return new Promise((resolve) => {
        pending.set(id, (frame) => {
          if (frame.type === 'response') {
            const { type: _t, id: _i, ...result } = frame;
            resolve(result);
          }
        });
      });
    },
    sendRaw(text) {
      ws.send(text);
      return new Promise((resolve) => rawWaiters.push(resolve));
    },
    close: () => ws.close(),
  };
}
