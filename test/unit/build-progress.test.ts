import { describe, expect, it } from 'vitest';
import { BuildProgressTracker, parseKbuildStep } from '../../electron/lab/kernel/build-progress';

describe('kbuild progress', () => {
  it.each([
    ['  CC      kernel/sched/core.o', { tool: 'CC', target: 'kernel/sched/core.o' }],
    ['  LD      vmlinux.o', { tool: 'LD', target: 'vmlinux.o' }],
    ['  HOSTCC  scripts/kconfig/conf.o', { tool: 'HOSTCC', target: 'scripts/kconfig/conf.o' }],
    [
      '  CC [M]  drivers/thermal/intel/x86_pkg_temp_thermal.o',
      { tool: 'CC', target: '[M]  drivers/thermal/intel/x86_pkg_temp_thermal.o' },
    ],
    ['make[1]: Entering directory /tmp/out', null],
    ['Kernel: arch/x86/boot/bzImage is ready  (#1)', null],
    ['  ', null],
  ])('%j', (line, step) => {
    expect(parseKbuildStep(line)).toEqual(step);
  });

  it('counts steps across arbitrary chunking and derives an ETA from the rate', () => {
    let now = 0;
    const tracker = new BuildProgressTracker(100, () => now);
    const output = Array.from({ length: 50 }, (_, i) => `  CC      f${i}.o\n`).join('');
    // Split mid-line on purpose.
    tracker.push(output.slice(0, 37));
    tracker.push(output.slice(37));
    now = 60_000;
    expect(tracker.steps).toBe(50);
    expect(tracker.snapshot()).toEqual({ fraction: 0.5, message: 'CC f49.o', etaSeconds: 60 });
  });

  it('never claims to be done before make exits', () => {
    const tracker = new BuildProgressTracker(10, () => 1);
    tracker.push(Array.from({ length: 30 }, () => '  CC      x.o\n').join(''));
    expect(tracker.snapshot().fraction).toBe(0.99);
  });
});
