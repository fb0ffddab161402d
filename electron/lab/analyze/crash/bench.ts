// kdlab analyze against the same crash commands typed by hand into one `crash -s` process: what
// the match check, the parsing and the report cost on top of crash itself.
import { performance } from 'node:perf_hooks';
import type { Progress } from '../../jobs';
import { runCommand } from '../../process';
import { analyzeVmcore } from './analyzer';

const quiet: Progress = { report: () => undefined, log: () => undefined };

const median = (values: number[]) => {
  const sorted = [...values].sort((a, b) => a - b);
  return sorted[Math.floor(sorted.length / 2)] ?? 0;
};

export async function benchAnalyze(
  vmcore: string,
  vmlinux: string,
  rounds = 3,
): Promise<{ kdlabMs: number; byHandMs: number; ratio: number }> {
  const kdlabMs: number[] = [];
  const byHandMs: number[] = [];
  for (let i = 0; i < rounds; i += 1) {
    let t0 = performance.now();
    const report = await analyzeVmcore({ vmcore, vmlinux, reuse: false }, quiet);
    kdlabMs.push(performance.now() - t0);
    // By hand: the very commands kdlab ran (dis -l included), typed into one crash -s.
    t0 = performance.now();
    await runCommand(['crash', '-s', vmlinux, vmcore], {
      input: `${Object.keys(report.raw).join('\n')}\nquit\n`,
      timeoutMs: 300_000,
    });
    byHandMs.push(performance.now() - t0);
  }
  return { kdlabMs: median(kdlabMs), byHandMs: median(byHandMs), ratio: median(kdlabMs) / median(byHandMs) };
}
