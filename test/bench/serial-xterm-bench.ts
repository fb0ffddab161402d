// Serial console → xterm.js throughput in real Chromium, with a checksum proving no byte was lost.
// A unix-socket server plays QEMU's serial chardev (`-chardev socket,server=on`): kdlab connects to
// it with the same SerialSocketSource a guest's console uses, and the bytes go the real way — output
// pump (batching, ack flow control) → WebSocket → the page → XtermView's write callback, where a
// bench-only tap (window.kdlabBench, defined by this script before the page loads) sums what xterm
// actually processed. Bundled and run by scripts/bench.mjs; prints one JSON object on stdout.
import { mkdtemp, rm } from 'node:fs/promises';
import { createServer } from 'node:net';
import type { Socket } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { chromium } from 'playwright-core';
import { createLabBackend } from '../../electron/lab/lab-backend';
import { SerialSocketSource } from '../../electron/lab/vm/serial-source';
import { startWebServer } from '../../electron/server/web-server';

const appRoot = process.argv[2] ?? process.cwd();
const megabytes = Number(process.argv[3] ?? 32);
const total = megabytes * 1024 * 1024;

/** Deterministic printable console lines (CRLF, like a guest's tty), exactly `total` bytes. */
function* chunks(size = 64 * 1024): Generator<Buffer> {
  let line = 0;
  let sent = 0;
  let pending = '';
  while (sent < total) {
    while (pending.length < size) {
      const n = line++;
      pending += `[${(n / 1000).toFixed(6).padStart(12)}] serial bench line ${n} ${'abcdefghijklmnopqrstuvwxyz0123456789'.slice(n % 36)}\r\n`;
    }
    const take = Math.min(size, total - sent);
    yield Buffer.from(pending.slice(0, take), 'latin1');
    pending = pending.slice(take);
    sent += take;
  }
}

/** Adler-32 over the characters (all ASCII here: characters are bytes). Same code runs in the page. */
function adler(state: { a: number; b: number }, data: string | Buffer): void {
  let { a, b } = state;
  for (let i = 0; i < data.length; i += 1) {
    a = (a + (typeof data === 'string' ? data.charCodeAt(i) : data[i]!)) % 65521;
    b = (b + a) % 65521;
  }
  state.a = a;
  state.b = b;
}

const expected = { a: 1, b: 0 };
for (const chunk of chunks()) adler(expected, chunk);

const dir = await mkdtemp(join(tmpdir(), 'kdlab-serial-bench-'));
const socketPath = join(dir, 'serial.sock');
let go!: () => void;
const started = new Promise<void>((resolve) => (go = resolve));
let firstByteAt = 0;
const guest = createServer((socket: Socket) => {
  void (async () => {
    await started;
    firstByteAt = performance.now();
    for (const chunk of chunks()) {
      // The guest's UART is paced by the socket: kdlab's pause (flow control) stops us here.
      if (!socket.write(chunk)) await new Promise((r) => socket.once('drain', r));
    }
  })();
});
await new Promise<void>((resolve) => guest.listen(socketPath, resolve));
const source = await SerialSocketSource.connect(socketPath);

let handedOut = false;
const backend = await createLabBackend({
  mode: 'web',
  version: 'bench',
  workspaceRoot: join(dir, 'workspace'),
  appRoot,
  // The Terminal view's "open" gets the serial console (once), not a shell.
  terminalFactory: () => {
    if (handedOut) throw new Error('the bench has one serial console');
    handedOut = true;
    return { source, title: 'ttyS0 (bench)' };
  },
});
const web = await startWebServer({ backend, rendererDir: join(appRoot, 'dist', 'renderer') });
const browser = await chromium.launch({
  executablePath: process.env.KDLAB_CHROMIUM ?? '/usr/bin/chromium',
  args: ['--no-sandbox', '--disable-gpu', '--disable-background-networking', '--no-first-run'],
});
try {
  const page = await browser.newPage({ viewport: { width: 1280, height: 900 } });
  await page.addInitScript(() => {
    const state = { a: 1, b: 0, bytes: 0, writes: 0 };
    (window as unknown as { kdlabBench: unknown }).kdlabBench = {
      state,
      onWrite(data: string) {
        let { a, b } = state;
        for (let i = 0; i < data.length; i += 1) {
          a = (a + data.charCodeAt(i)) % 65521;
          b = (b + a) % 65521;
        }
        state.a = a;
        state.b = b;
        state.bytes += data.length;
        state.writes += 1;
      },
    };
  });
  await page.goto(web.url);
  await page.waitForFunction(() => document.documentElement.dataset.labReady === 'true');
  await page.goto(`${new URL(web.url).origin}/#/terminal`);
  await page.getByRole('button', { name: 'Open host shell' }).click();
  await page.locator('.xterm').waitFor();
  go();
  await page.waitForFunction(
    (n) => (window as unknown as { kdlabBench: { state: { bytes: number } } }).kdlabBench.state.bytes >= n,
    total,
    { timeout: 600_000, polling: 50 },
  );
  const seconds = (performance.now() - firstByteAt) / 1000;
  const got = await page.evaluate(
    () => (window as unknown as { kdlabBench: { state: Record<string, number> } }).kdlabBench.state,
  );
  const lastLine = await page.locator('.xterm-rows > div').last().textContent();
  process.stdout.write(
    `${JSON.stringify({
      bytes: total,
      received: got.bytes,
      writes: got.writes,
      seconds,
      mbPerSecond: total / 1024 / 1024 / seconds,
      checksumExpected: (expected.b * 65536 + expected.a) >>> 0,
      checksumReceived: ((got.b ?? 0) * 65536 + (got.a ?? 0)) >>> 0,
      lossless: got.bytes === total && got.a === expected.a && got.b === expected.b,
      lastRowSample: lastLine?.trim().slice(0, 80) ?? null,
    })}\n`,
  );
} finally {
  await browser.close();
  await web.close();
  await backend.dispose();
  guest.close();
  await rm(dir, { recursive: true, force: true });
}
