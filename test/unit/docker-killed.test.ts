// The message for a container killed from outside kdlab: what happened, which container, what to do.
import { describe, expect, it } from 'vitest';
import { killedFromOutside } from '../../electron/lab/exec/docker-executor';
import type { OutsideKill } from '../../electron/lab/exec/docker-executor';

const base: OutsideKill = {
  command: '/usr/bin/qemu-system-x86_64',
  containerId: '0123456789abcdef0123456789abcdef',
  status: 137,
  oomKilled: false,
  where: 'docker kdlab/toolchain:latest (b5975aeb9eb5) on unix:///var/run/docker.sock',
  lifetime: 'long-lived',
};

describe('killedFromOutside', () => {
  it.each<[string, Partial<OutsideKill>, RegExp, RegExp]>([
    [
      'a long-lived process SIGKILLed (docker kill)',
      {},
      /^qemu-system-x86_64 stopped: its container 0123456789ab was killed \(SIGKILL, exit 137\) from outside kdlab — docker kill or docker rm -f, a Docker daemon restart, or the out-of-memory killer \(docker kdlab\/toolchain:latest .*\)\.$/,
      /^Start it again .*docker events --since 1h --filter container=0123456789ab.*docker stats/,
    ],
    [
      'a long-lived process whose container vanished (docker rm -f, daemon restart)',
      { status: -1 },
      /^qemu-system-x86_64 stopped: its container 0123456789ab disappeared before it could report an exit status — removed from outside kdlab/,
      /^Start it again/,
    ],
    [
      'a long-lived process OOM-killed',
      { oomKilled: true },
      /^qemu-system-x86_64 stopped: its container 0123456789ab was killed from outside kdlab by the out-of-memory killer \(OOMKilled\)/,
      /^The Docker host ran out of memory for it: .*give the guest less, then start it again\.$/,
    ],
    [
      'a step SIGKILLed',
      { command: 'make', lifetime: 'step' },
      /^make did not finish: its container 0123456789ab was killed \(SIGKILL, exit 137\) from outside kdlab/,
      /^kdlab caches only finished steps: run it again\. If it keeps happening, see what stops it with docker events/,
    ],
    [
      'a step OOM-killed',
      { command: 'make', lifetime: 'step', oomKilled: true },
      /^make did not finish: its container 0123456789ab was killed from outside kdlab by the out-of-memory killer/,
      /then run it again\.$/,
    ],
  ])('%s', (_name, facts, message, hint) => {
    const data = killedFromOutside({ ...base, ...facts });
    expect(data.code).toBe('IO');
    expect(data.message).toMatch(message);
    expect(data.hint).toMatch(hint);
  });
});
