// Real node-pty shells behind the API, as the UI uses them.
import { createHash } from 'node:crypto';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { LabEventName, LabEvents } from '../../electron/common/events';
import { terminalFlow } from '../../electron/common/types';
import type { TerminalInfo } from '../../electron/common/types';
import type { ClientContext } from '../../electron/lab/dispatcher';
import { createLabBackend } from '../../electron/lab/lab-backend';
import type { LabBackend } from '../../electron/lab/lab-backend';
import { makeTempDir, waitFor } from '../helpers/temp';

let backend: LabBackend;

beforeAll(async () => {
  backend = await createLabBackend({
    mode: 'web',
    version: 'test',
    workspaceRoot: join(await makeTempDir(), 'ws'),
  });
});
afterAll(async () => {
  await backend.dispose();
});

function client(name: string, options: { autoAck?: boolean } = {}) {
  const output = new Map<string, string>();
  const exits = new Map<string, LabEvents['terminal.exit']>();
  const ctx: ClientContext = {
    clientId: name,
    emit<E extends LabEventName>(event: E, payload: LabEvents[E]) {
      if (event === 'terminal.data') {
        const { id, data } = payload as LabEvents['terminal.data'];
        output.set(id, (output.get(id) ?? '') + data);
        if (options.autoAck !== false) void backend.dispatch('terminal.ack', { id, chars: data.length }, ctx);
      }
      if (event === 'terminal.exit') {
        const exit = payload as LabEvents['terminal.exit'];
        exits.set(exit.id, exit);
      }
    },
  };
  const detach = backend.events.attach(ctx);
  const call = async (method: string, args: unknown) => {
    const result = await backend.dispatch(method, args, ctx);
    if (!result.ok) throw new Error(`${result.error.code}: ${result.error.message}`);
    return result.result;
  };
  return { ctx, output, exits, detach, call };
}

describe('host shell terminal', () => {
  it('echoes a command typed into it', async () => {
    const c = client('echo');
    const term = (await c.call('terminal.open', { kind: 'shell', cols: 80, rows: 24 })) as TerminalInfo;
    expect(term.pid).toBeGreaterThan(0);
    await c.call('terminal.write', { id: term.id, data: 'echo kdlab-$((40+2))-ok\r' });
    await waitFor(() => (c.output.get(term.id) ?? '').includes('kdlab-42-ok'));
    await c.call('terminal.close', { id: term.id });
    await waitFor(() => c.exits.has(term.id));
    c.detach();
  });

  it('keeps multi-byte characters whole and follows resizes', async () => {
    const c = client('utf8');
    const term = (await c.call('terminal.open', { kind: 'shell', cols: 80, rows: 24 })) as TerminalInfo;
    await c.call('terminal.resize', { id: term.id, cols: 132, rows: 43 });
    await c.call('terminal.write', {
      id: term.id,
      data: "stty size; printf '\\344\\270\\255\\346\\226\\207-%s\\n' done\r",
    });
    await waitFor(() => (c.output.get(term.id) ?? '').includes('中文-done'));
    expect(c.output.get(term.id)).toContain('43 132');
    expect(c.output.get(term.id)).not.toContain('\uFFFD');
    await c.call('terminal.write', { id: term.id, data: 'exit 3\r' });
    await waitFor(() => c.exits.has(term.id));
    expect(c.exits.get(term.id)?.exitCode).toBe(3);
    c.detach();
  });

  it('pauses a fast producer until the UI acknowledges, and loses nothing', async () => {
    const c = client('flood', { autoAck: false });
    const term = (await c.call('terminal.open', { kind: 'shell', cols: 200, rows: 50 })) as TerminalInfo;
    // 3 MB of numbered lines, then a checksum of exactly what was printed.
    const script =
      'stty -echo; seq 1 400000 > /tmp/kdlab-flood.$$; echo BEGIN-$((6*7)); cat /tmp/kdlab-flood.$$; echo SUM=$(sha256sum < /tmp/kdlab-flood.$$ | cut -c1-64); rm /tmp/kdlab-flood.$$\r';
    await c.call('terminal.write', { id: term.id, data: script });
    // Without acks the back end must stop well short of the whole output (2.7 MB): at the high
    // watermark, plus one batch and what the pty had already read.
    await new Promise((r) => setTimeout(r, 1_500));
    const unackedSize = (c.output.get(term.id) ?? '').length;
    expect(unackedSize).toBeLessThan(
      terminalFlow.highWatermarkChars + terminalFlow.batchMaxChars + 256 * 1024,
    );
    // Now acknowledge in 5000-char steps (finer than the renderer's) until the checksum line arrives.
    let acked = 0;
    await waitFor(
      () => {
        const text = c.output.get(term.id) ?? '';
        while (acked + 5_000 <= text.length) {
          void c.call('terminal.ack', { id: term.id, chars: 5_000 });
          acked += 5_000;
        }
        if (text.length - acked > 0 && text.length - acked < 5_000) {
          void c.call('terminal.ack', { id: term.id, chars: text.length - acked });
          acked = text.length;
        }
        return /SUM=[0-9a-f]{64}/.test(text);
      },
      60_000,
      5,
    );
    const text = (c.output.get(term.id) ?? '').replace(/\r\n/g, '\n');
    const sum = /SUM=([0-9a-f]{64})/.exec(text)?.[1];
    const start = text.indexOf('BEGIN-42\n') + 'BEGIN-42\n'.length;
    const received = text.slice(start, text.indexOf('SUM=', start));
    expect(received.length).toBe(2_688_895);
    expect(createHash('sha256').update(received).digest('hex')).toBe(sum);
    await c.call('terminal.close', { id: term.id });
    c.detach();
  });

  it('keeps terminals private to the client that opened them', async () => {
    const owner = client('owner');
    const other = client('other');
    const term = (await owner.call('terminal.open', { kind: 'shell', cols: 80, rows: 24 })) as TerminalInfo;
    const result = await backend.dispatch('terminal.write', { id: term.id, data: 'id\r' }, other.ctx);
    expect(result).toMatchObject({ ok: false, error: { code: 'NOT_FOUND' } });
    expect(await other.call('terminal.list', {})).toEqual([]);
    await owner.call('terminal.close', { id: term.id });
    owner.detach();
    other.detach();
  });
});
