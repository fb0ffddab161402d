import { describe, expect, it } from 'vitest';
import { parseBuildFolderName, pidInName } from '../../electron/lab/cache-usage';
import { planPrune, summarize } from '../../electron/lab/prune-policy';
import type { UsageEntry } from '../../electron/lab/prune-policy';

const now = Date.parse('2026-12-01T12:00:00Z');
const daysAgo = (d: number) => new Date(now - d * 86_400_000).toISOString();

function entry(over: Partial<UsageEntry> & Pick<UsageEntry, 'area' | 'key'>): UsageEntry {
  return {
    kind: over.area,
    path: `/ws/${over.area}/${over.key}`,
    bytes: 1000,
    files: 1,
    createdAt: daysAgo(100),
    lastUsedAt: daysAgo(100),
    valid: null,
    referencedBy: [],
    protectedBy: [],
    needs: [],
    leftover: null,
    build: null,
    ...over,
  };
}

const removed = (entries: UsageEntry[], olderThanDays = 30) =>
  planPrune(entries, { olderThanDays, now }).remove.map((d) => d.entry.key);

describe('planPrune', () => {
  it('removes what was not used for more than N days and keeps the rest', () => {
    const entries = [
      entry({ area: 'cache', key: 'old', lastUsedAt: daysAgo(31) }),
      entry({ area: 'cache', key: 'recent', lastUsedAt: daysAgo(29) }),
      entry({ area: 'jobs', key: 'old.log', lastUsedAt: daysAgo(40) }),
      entry({ area: 'cache', key: 'unknown', lastUsedAt: null }),
    ];
    expect(removed(entries)).toEqual(['old', 'old.log']);
    expect(removed(entries, 35)).toEqual(['old.log']);
    expect(removed(entries, 0)).toEqual(['old', 'recent', 'old.log']);
  });

  it('never removes a protected entry or a vmcore, however old', () => {
    const plan = planPrune(
      [
        entry({
          area: 'cache',
          kind: 'kernels',
          key: 'k',
          lastUsedAt: daysAgo(400),
          protectedBy: ['vmcore X needs this kernel for analysis'],
        }),
        entry({ area: 'vmcores', key: 'v', lastUsedAt: daysAgo(400) }),
        entry({
          area: 'build',
          key: 'kernel-aaaaaaaaaaaa-tinyconfig-docker-bbbbbbbbbbbb',
          protectedBy: ['in use by running guest 1234abcd'],
          build: {
            type: 'kernel',
            sourceHash: 'aaaaaaaaaaaa',
            base: 'tinyconfig',
            kernelKeys: [],
            releases: [],
            executor: { dockerImage: 'bbbbbbbbbbbb' },
            imageExists: false,
          },
        }),
      ],
      { olderThanDays: 0, now },
    );
    expect(plan.remove).toEqual([]);
    expect(plan.keep.map((d) => d.reason)).toEqual([
      'vmcore X needs this kernel for analysis',
      expect.stringContaining('vmcore library'),
      'in use by running guest 1234abcd',
    ]);
  });

  it('removes a build folder whose Docker image is gone even when recent, never when Docker did not answer', () => {
    const build = (imageExists: boolean | 'unknown') =>
      entry({
        area: 'build',
        key: `kernel-aaaaaaaaaaaa-tinyconfig-docker-${String(imageExists)}`,
        lastUsedAt: daysAgo(1),
        build: {
          type: 'kernel',
          sourceHash: 'aaaaaaaaaaaa',
          base: 'tinyconfig',
          kernelKeys: [],
          releases: [],
          executor: { dockerImage: 'bbbbbbbbbbbb' },
          imageExists,
        },
      });
    const plan = planPrune([build(false), build(true), build('unknown')], { olderThanDays: 30, now });
    expect(plan.remove.map((d) => d.entry.key)).toEqual(['kernel-aaaaaaaaaaaa-tinyconfig-docker-false']);
    expect(plan.remove[0]!.reason).toMatch(/image bbbbbbbbbbbb, which is no longer on the engine/);
  });

  it('leftovers: a dead owner goes at once, a live one stays, an unknown one after its grace time', () => {
    const left = (key: string, ownerAlive: boolean | null, hoursAgo: number) =>
      entry({
        area: 'tmp',
        key,
        lastUsedAt: new Date(now - hoursAgo * 3_600_000).toISOString(),
        leftover: {
          reason: 'temporary work folder',
          ownerPid: ownerAlive === null ? null : 4242,
          ownerAlive,
          graceMs: 86_400_000,
        },
      });
    const plan = planPrune(
      [
        left('dead', false, 0),
        left('alive', true, 1000),
        left('orphan-old', null, 25),
        left('orphan-new', null, 23),
      ],
      { olderThanDays: 30, now },
    );
    expect(plan.remove.map((d) => d.entry.key)).toEqual(['dead', 'orphan-old']);
    expect(plan.keep.find((d) => d.entry.key === 'alive')!.reason).toMatch(/process 4242 still runs/);
  });

  it('keeps an old entry that a kept entry needs, through chains, but not a leftover or a gone image', () => {
    const sources = entry({ area: 'cache', kind: 'sources', key: 'src', lastUsedAt: daysAgo(90) });
    const kernelBuild = entry({
      area: 'build',
      key: 'kernel-b',
      lastUsedAt: daysAgo(90),
      needs: [`${sources.path}/linux-source-6.1`],
    });
    const modulesBuild = entry({
      area: 'build',
      key: 'modules-m',
      lastUsedAt: daysAgo(2),
      needs: [kernelBuild.path],
    });
    const plan = planPrune([sources, kernelBuild, modulesBuild], { olderThanDays: 30, now });
    expect(plan.remove).toEqual([]);
    expect(plan.keep.map((d) => d.reason)).toEqual([
      'needed by build/kernel-b',
      'needed by build/modules-m',
      expect.stringMatching(/^used 2 d ago/),
    ]);
    // Without the recent modules tree both old ones go.
    expect(removed([sources, kernelBuild])).toEqual(['src', 'kernel-b']);
  });

  it('counts the bytes that would go and refuses a negative age', () => {
    const plan = planPrune(
      [entry({ area: 'cache', key: 'a', bytes: 5 }), entry({ area: 'cache', key: 'b', bytes: 7 })],
      { olderThanDays: 30, now },
    );
    expect(plan.bytes).toBe(12);
    expect(() => planPrune([], { olderThanDays: -1, now })).toThrow(RangeError);
  });

  it('summarizes per area and kind, largest first', () => {
    expect(
      summarize([
        entry({ area: 'cache', kind: 'kernels', key: 'a', bytes: 10 }),
        entry({ area: 'cache', kind: 'kernels', key: 'b', bytes: 20 }),
        entry({ area: 'build', kind: 'kernel', key: 'c', bytes: 100 }),
      ]),
    ).toEqual([
      { area: 'build', kind: 'kernel', entries: 1, bytes: 100 },
      { area: 'cache', kind: 'kernels', entries: 2, bytes: 30 },
    ]);
  });
});

describe('workspace names', () => {
  it('reads build folder names as KernelBuilder and ModuleBuilder make them', () => {
    expect(parseBuildFolderName('kernel-cebd24ec18a4-tinyconfig-docker-b5975aeb9eb5')).toMatchObject({
      type: 'kernel',
      sourceHash: 'cebd24ec18a4',
      base: 'tinyconfig',
      executor: { dockerImage: 'b5975aeb9eb5' },
    });
    expect(parseBuildFolderName('kernel-cebd24ec18a4-config-my.config')).toMatchObject({
      type: 'kernel',
      base: 'config-my.config',
      executor: 'host',
    });
    expect(parseBuildFolderName('modules-4643988a0113aab6')).toMatchObject({
      type: 'modules',
      kernelPrefix: '4643988a0113aab6',
    });
    expect(parseBuildFolderName('decoder-test-modules-1d3cb9815ea0').type).toBe('other');
  });

  it('finds the pid in temp names', () => {
    expect(pidInName('initramfs-31337-1764590000000-3')).toBe(31337);
    expect(pidInName('rootfs-812-1764590000000')).toBe(812);
    expect(pidInName('module-0a1b2c3d4e5f60718293a4b5c6d7e8f9-4242')).toBe(4242);
    expect(pidInName('prune-5150-0badcafe')).toBe(5150);
    expect(pidInName('docker-base')).toBeNull();
  });
});
