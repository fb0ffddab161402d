#!/usr/bin/env node
// npm run bench: measures what the targets name and writes JSON to test-output/bench.json.
// Pipeline metrics (test/bench/pipeline-bench.ts; --no-pipeline skips them, --no-kernel-build skips
// the cold kernel build comparison, ~15 min on 2 cores). Docker metrics (test/bench/docker-bench.ts;
// --no-docker skips them, --docker-kernel-build adds the ~20 min container build vs host build). Foundation metrics: web mode start → URL printed → UI interactive in Chromium; back end RSS idle and
// with three terminals streaming (with acks, as the UI does), and that stream's throughput; serial
// console → xterm.js throughput in Chromium with a checksum (test/bench/serial-xterm-bench.ts).
import { spawn } from 'node:child_process';
import { mkdirSync, mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { chromium } from 'playwright-core';
import WebSocket from 'ws';

const root = fileURLToPath(new URL('..', import.meta.url));
const out = join(root, 'test-output', 'bench.json');

function rssMb(pid) {
  const status = readFileSync(`/proc/${pid}/status`, 'utf8');
  return Number(/VmRSS:\s+(\d+) kB/.exec(status)[1]) / 1024;
}

function startServer() {
  const env = { ...process.env, KDLAB_HOME: mkdtempSync(join(tmpdir(), 'kdlab-bench-')) };
  delete env.DISPLAY;
  const t0 = performance.now();
  const child = spawn(process.execPath, ['electron/cli/bin.cjs', 'serve'], {
    cwd: root,
    env,
    stdio: ['ignore', 'pipe', 'inherit'],
  });
  return new Promise((resolve, reject) => {
    let text = '';
    child.stdout.on('data', (c) => {
      text += c;
      const m = /kdlab web mode: (\S+)/.exec(text);
      if (m) resolve({ child, url: m[1], urlMs: performance.now() - t0, t0 });
    });
    child.once('exit', (code) => reject(new Error(`kdlab serve exited with ${code}`)));
  });
}

async function webStart(browser) {
  const page = await browser.newPage();
  const server = await startServer();
  await page.goto(server.url);
  await page.waitForFunction(() => document.documentElement.dataset.labReady === 'true', null, {
    timeout: 30_000,
  });
  const interactiveMs = performance.now() - server.t0;
  await page.close();
  return { server, interactiveMs };
}

/** Opens a terminal over the WebSocket and streams `bytes` through it, acking like xterm does. */
async function streamTerminal(url, bytes) {
  const u = new URL(url);
  const ws = new WebSocket(`ws://${u.host}/api?token=${u.searchParams.get('token')}`);
  await new Promise((r, j) => (ws.once('open', r), ws.once('error', j)));
  let nextId = 1;
  const pending = new Map();
  const call = (method, args) =>
    new Promise((resolve) => {
      const id = nextId++;
      pending.set(id, resolve);
      ws.send(JSON.stringify({ type: 'request', id, method, args }));
    });
  let received = 0;
  let tail = '';
  let termId = null;
  let done;
  const finished = new Promise((r) => (done = r));
  ws.on('message', (raw) => {
    const f = JSON.parse(raw.toString());
    if (f.type === 'response') pending.get(f.id)?.(f);
    else if (f.event === 'terminal.data' && f.payload.id === termId) {
      received += f.payload.data.length;
      void call('terminal.ack', { id: termId, chars: f.payload.data.length });
      tail = (tail + f.payload.data).slice(-64); // the marker may straddle two batches
      if (tail.includes('BENCH-END')) done();
    }
  });
  const opened = await call('terminal.open', { kind: 'shell', cols: 200, rows: 50 });
  termId = opened.result.id;
  const t0 = performance.now();
  // The typed line must not contain the end marker itself: the shell prints it only when done.
  await call('terminal.write', {
    id: termId,
    data: `stty -echo; head -c ${bytes} /dev/zero | tr '\\0' 'x'; echo; echo BENCH-$(echo END)\r`,
  });
  await finished;
  const seconds = (performance.now() - t0) / 1000;
  ws.close();
  return { bytes: received, seconds };
}

/**
 * Bundles a TypeScript bench (engine code) with esbuild and runs it in a child Node; its last
 * stdout line is the JSON result.
 */
async function runBundledBench(name, args, what) {
  const { build } = await import('esbuild');
  const outfile = join(root, 'dist', 'bench', `${name}.mjs`);
  await build({
    entryPoints: [join(root, 'test/bench', `${name}.ts`)],
    outfile,
    bundle: true,
    platform: 'node',
    target: 'node20',
    format: 'esm',
    packages: 'external',
    logLevel: 'warning',
  });
  const child = spawn(process.execPath, [outfile, ...args], {
    cwd: root,
    stdio: ['ignore', 'pipe', 'inherit'],
  });
  let text = '';
  child.stdout.on('data', (c) => (text += c));
  const code = await new Promise((r) => child.once('exit', r));
  if (code !== 0) throw new Error(`${what} failed (exit ${code})`);
  return JSON.parse(text.trim().split('\n').at(-1));
}

/** The pipeline benchmarks (test/bench/pipeline-bench.ts). */
async function pipelineBench() {
  if (process.argv.includes('--no-pipeline')) return null;
  const args = [root, ...process.argv.filter((a) => a === '--no-kernel-build')];
  return runBundledBench('pipeline-bench', args, 'pipeline bench');
}

/**
 * Docker mode (test/bench/docker-bench.ts): container start overhead, and with --docker-kernel-build
 * (~20 min) the lab kernel built in the toolchain container vs on the host. --no-docker skips it.
 */
async function dockerBench(pipeline) {
  if (process.argv.includes('--no-docker')) return null;
  const args = [root];
  if (process.argv.includes('--docker-kernel-build')) {
    args.push('--docker-kernel-build');
    // The host side of the ratio: the pipeline bench's cold build when it ran.
    const hostSeconds = pipeline?.kernelBuild?.kdlabSeconds;
    if (hostSeconds) args.push('--host-build-s', String(hostSeconds));
  }
  return runBundledBench('docker-bench', args, 'docker bench');
}

/**
 * Serial console → xterm.js in Chromium (test/bench/serial-xterm-bench.ts): MB/s through the real
 * SerialSocketSource → pump → WebSocket → XtermView path, lossless by checksum. --no-serial-xterm skips it.
 */
async function serialXtermBench() {
  if (process.argv.includes('--no-serial-xterm')) return null;
  const run = await runBundledBench('serial-xterm-bench', [root, '32'], 'serial → xterm bench');
  if (!run.lossless) throw new Error(`serial → xterm lost bytes: ${JSON.stringify(run)}`);
  return run;
}

mkdirSync(join(root, 'test-output'), { recursive: true });
const serialToXterm = await serialXtermBench();
const pipeline = await pipelineBench();
const docker = await dockerBench(pipeline);
const browser = await chromium.launch({
  executablePath: process.env.KDLAB_CHROMIUM ?? '/usr/bin/chromium',
  args: [
    '--no-sandbox',
    '--disable-gpu',
    '--disable-background-networking',
    '--disable-component-update',
    '--disable-sync',
    '--no-first-run',
  ],
});
const runs = [];
for (let i = 0; i < 3; i += 1) {
  const { server, interactiveMs } = await webStart(browser);
  await new Promise((r) => setTimeout(r, 2_000));
  const idleRss = rssMb(server.child.pid);
  let busyRss = 0;
  let streams = [];
  if (i === 0) {
    const sampler = setInterval(() => (busyRss = Math.max(busyRss, rssMb(server.child.pid))), 100);
    streams = await Promise.all([0, 1, 2].map(() => streamTerminal(server.url, 20 * 1024 * 1024)));
    clearInterval(sampler);
  }
  runs.push({ urlPrintedMs: server.urlMs, interactiveMs, idleRssMb: idleRss, busyRssMb: busyRss, streams });
  server.child.kill('SIGTERM');
}
await browser.close();

const median = (xs) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)];
const streams = runs[0].streams;
const result = {
  date: new Date().toISOString(),
  machine: { cpus: (await import('node:os')).cpus().length, node: process.version },
  webMode: {
    startToUrlMs: median(runs.map((r) => r.urlPrintedMs)),
    startToInteractiveMs: median(runs.map((r) => r.interactiveMs)),
    targetInteractiveMs: 1500,
    idleRssMb: median(runs.map((r) => r.idleRssMb)),
    targetIdleRssMb: 150,
    rssWithThreeTerminalsStreamingMb: runs[0].busyRssMb,
    terminalStreamMBps: streams.map((s) => s.bytes / 1024 / 1024 / s.seconds),
    serialToXterm,
    runs,
  },
  pipeline,
  docker,
};
writeFileSync(out, `${JSON.stringify(result, null, 2)}\n`);
console.log(
  JSON.stringify(
    { webMode: result.webMode, pipeline, docker },
    (k, v) => (k === 'runs' ? undefined : typeof v === 'number' ? Math.round(v * 10) / 10 : v),
    2,
  ),
);
