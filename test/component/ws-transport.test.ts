// The web mode's transport against a scripted socket: correlation, queueing, events, loss as data.
import { describe, expect, it } from 'vitest';
import { WebSocketTransport } from '../../renderer/src/lib/api/ws-transport';
import type { SocketLike } from '../../renderer/src/lib/api/ws-transport';

class ScriptedSocket implements SocketLike {
  readyState = 0;
  sent: { id: number; method: string; args: unknown }[] = [];
  onopen: ((ev: Event) => void) | null = null;
  onclose: ((ev: CloseEvent) => void) | null = null;
  onmessage: ((ev: MessageEvent) => void) | null = null;
  onerror: ((ev: Event) => void) | null = null;
  send(data: string) {
    this.sent.push(JSON.parse(data) as { id: number; method: string; args: unknown });
  }
  close() {
    this.readyState = 3;
    this.onclose?.({} as CloseEvent);
  }
  open() {
    this.readyState = 1;
    this.onopen?.({} as Event);
  }
  receive(frame: unknown) {
    this.onmessage?.({ data: JSON.stringify(frame) } as MessageEvent);
  }
}

function setup() {
  const sockets: ScriptedSocket[] = [];
  const transport = new WebSocketTransport('ws://127.0.0.1:1/api', () => {
    const s = new ScriptedSocket();
    sockets.push(s);
    return s;
  });
  return { transport, sockets };
}

describe('WebSocket transport', () => {
  it('queues requests until the socket opens and matches responses by id', async () => {
    const { transport, sockets } = setup();
    const a = transport.invoke('app.info', {});
    const b = transport.invoke('jobs.list', {});
    const socket = sockets[0]!;
    expect(socket.sent).toEqual([]);
    socket.open();
    expect(socket.sent.map((f) => f.method)).toEqual(['app.info', 'jobs.list']);
    socket.receive({ type: 'response', id: socket.sent[1]!.id, ok: true, result: [] });
    socket.receive({
      type: 'response',
      id: socket.sent[0]!.id,
      ok: false,
      error: { code: 'INTERNAL', message: 'x', hint: null },
    });
    expect(await b).toEqual({ ok: true, result: [] });
    expect(await a).toEqual({ ok: false, error: { code: 'INTERNAL', message: 'x', hint: null } });
    transport.close();
  });

  it('delivers events to their listeners until unsubscribed', () => {
    const { transport, sockets } = setup();
    sockets[0]!.open();
    const seen: string[] = [];
    const off = transport.on('terminal.data', (p) => seen.push(p.data));
    sockets[0]!.receive({ type: 'event', event: 'terminal.data', payload: { id: 't', data: 'hello' } });
    sockets[0]!.receive({ type: 'event', event: 'job.log', payload: { id: 'j', text: 'ignored' } });
    off();
    sockets[0]!.receive({ type: 'event', event: 'terminal.data', payload: { id: 't', data: 'late' } });
    expect(seen).toEqual(['hello']);
    transport.close();
  });

  it('answers pending requests with UNAVAILABLE data when the connection drops, then reconnects', async () => {
    const { transport, sockets } = setup();
    const statuses: string[] = [];
    transport.onStatus((s) => statuses.push(s));
    sockets[0]!.open();
    const pending = transport.invoke('doctor.run', { kvmProbe: true });
    sockets[0]!.close();
    expect(await pending).toMatchObject({
      ok: false,
      error: { code: 'UNAVAILABLE', hint: expect.stringContaining('kdlab serve') },
    });
    expect(statuses).toEqual(['open', 'closed']);
    await new Promise((r) => setTimeout(r, 300));
    expect(sockets).toHaveLength(2);
    transport.close();
  });
});
