import { describe, expect, it } from 'vitest';
import { OutputPump } from '../../electron/lab/terminals/output-pump';
import { waitFor } from '../helpers/temp';

function fakeSource() {
  const calls: string[] = [];
  return { calls, pause: () => calls.push('pause'), resume: () => calls.push('resume') };
}

describe('OutputPump', () => {
  it('decodes a UTF-8 character split across chunks', () => {
    const out: string[] = [];
    const pump = new OutputPump(fakeSource(), { emit: (d) => out.push(d), batchIntervalMs: 1_000 });
    const bytes = Buffer.from('崩溃 panic ✓', 'utf8');
    for (let i = 0; i < bytes.length; i += 1) pump.push(bytes.subarray(i, i + 1));
    pump.flush(true);
    expect(out.join('')).toBe('崩溃 panic ✓');
    pump.dispose();
  });

  it('batches many small chunks into one message per interval', async () => {
    const out: string[] = [];
    const pump = new OutputPump(fakeSource(), { emit: (d) => out.push(d), batchIntervalMs: 20 });
    for (let i = 0; i < 100; i += 1) pump.push(Buffer.from(`line ${i}\n`));
    expect(out).toEqual([]);
    await waitFor(() => out.length > 0);
    expect(out).toHaveLength(1);
    expect(out[0]?.split('\n')).toHaveLength(101);
    pump.dispose();
  });

  it('flushes at once when a batch reaches its size limit', () => {
    const out: string[] = [];
    const pump = new OutputPump(fakeSource(), {
      emit: (d) => out.push(d),
      batchIntervalMs: 10_000,
      batchMaxChars: 10,
    });
    pump.push('0123456789abc');
    expect(out).toEqual(['0123456789abc']);
    pump.dispose();
  });

  it('pauses above the high watermark and resumes below the low one after acks', () => {
    const source = fakeSource();
    const out: string[] = [];
    const pump = new OutputPump(source, {
      emit: (d) => out.push(d),
      batchMaxChars: 1_000,
      highWatermarkChars: 3_000,
      lowWatermarkChars: 500,
    });
    for (let i = 0; i < 4; i += 1) pump.push('x'.repeat(1_000));
    expect(source.calls).toEqual(['pause']);
    expect(pump.paused).toBe(true);
    pump.ack(2_000);
    expect(source.calls).toEqual(['pause']);
    pump.ack(1_600);
    expect(source.calls).toEqual(['pause', 'resume']);
    expect(pump.unacknowledged).toBe(400);
    expect(out.join('').length).toBe(4_000);
    pump.dispose();
  });
});
