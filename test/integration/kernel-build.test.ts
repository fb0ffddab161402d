// The lab kernel built for real from Debian's linux-source-6.1 (about 4–7 minutes on 2 cores from an
// empty cache). The workspace persists in ~/.cache/kdlab-test between runs on the same machine, so a
// warm run is a cache hit; CI on a fresh machine builds from scratch.
import { execFileSync } from 'node:child_process';
import { existsSync, readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { beforeAll, describe, expect, it } from 'vitest';
import { JobManager } from '../../electron/lab/jobs';
import type { KernelArtifacts, KernelBuildSpec } from '../../electron/lab/kernel/kernel-builder';
import { KernelBuilder } from '../../electron/lab/kernel/kernel-builder';
import { findSources } from '../../electron/lab/kernel/sources';
import { Workspace } from '../../electron/lab/workspace';
import { appRoot } from '../helpers/build';
import { testWorkspaceRoot } from '../helpers/lab-kernel';
import { waitFor } from '../helpers/temp';

const workspaceRoot = testWorkspaceRoot;
let workspace: Workspace;
let builder: KernelBuilder;
let jobs: JobManager;
let source: string;

const labSpec = (): KernelBuildSpec => ({
  source,
  base: 'tinyconfig',
  fragments: ['kgdb', 'kdump', 'debuginfo', 'qemu-virt', 'modules'],
});

function build(spec: KernelBuildSpec) {
  return jobs.start({ title: 'Build', kind: 'kernel-build' }, (progress, signal) =>
    builder.build(spec, progress, signal),
  );
}

beforeAll(async () => {
  workspace = await Workspace.open(workspaceRoot);
  builder = new KernelBuilder(workspace, join(appRoot, 'lab-images', 'kconfig'));
  jobs = new JobManager({ logDir: workspace.jobsDir });
  const found = (await findSources()).filter((s) => s.version === '6.1');
  if (!found[0]) throw new Error('linux-source-6.1 is not installed: run scripts/setup.sh');
  source = found[0].path;
});

describe('kernel build', () => {
  it('reports an option dropped by olddefconfig, with the unmet dependency, before running make', async () => {
    const { result } = build({ ...labSpec(), extra: { INET: 'n' } });
    const error = await result.catch((e: unknown) => e);
    expect(error).toMatchObject({ code: 'BAD_REQUEST' });
    const message = (error as Error).message;
    expect(message).toMatch(/^1 requested config option\(s\) did not survive olddefconfig/);
    expect(message).toMatch(
      /CONFIG_9P_FS \(from qemu-virt\): wanted y, got not set — depends on INET && NET_9P — unmet: INET is not set/,
    );
  });

  let artifacts: KernelArtifacts;

  it('builds bzImage, vmlinux with debug info, modules and the gdb scripts, with a manifest', async () => {
    const { job, result } = build(labSpec());
    artifacts = await result;
    const m = artifacts.manifest;
    expect(m.kernelRelease).toMatch(/^6\.1\.\d+/);
    expect(m.verification.ok).toBe(true);
    expect(m.verification.checks.length).toBeGreaterThan(50);
    expect(m.patches).toEqual(['crash-8.0.2-pid-numbers']);
    const readelf = execFileSync('readelf', ['-n', artifacts.vmlinux], { encoding: 'utf8' });
    expect(readelf).toContain(`Build ID: ${m.buildId}`);
    expect(execFileSync('readelf', ['-S', artifacts.vmlinux], { encoding: 'utf8' })).toContain('.debug_info');
    const config = readFileSync(artifacts.config, 'utf8');
    for (const option of [
      'KGDB',
      'KGDB_SERIAL_CONSOLE',
      'CRASH_DUMP',
      'PROC_VMCORE',
      'DEBUG_INFO',
      'GDB_SCRIPTS',
      'VIRTIO_BLK',
      '9P_FS',
      'MAGIC_SYSRQ',
      '64BIT',
    ]) {
      expect(config, option).toMatch(new RegExp(`^CONFIG_${option}=y$`, 'm'));
    }
    expect(existsSync(artifacts.gdbScript)).toBe(true);
    expect(readdirSync(join(artifacts.dir, 'scripts/gdb/linux'))).toEqual(
      expect.arrayContaining(['utils.py', 'constants.py', 'dmesg.py', 'tasks.py']),
    );
    expect(execFileSync('file', ['-b', artifacts.bzImage], { encoding: 'utf8' })).toMatch(
      /Linux kernel x86 boot executable bzImage, version 6\.1/,
    );
    if (!artifacts.cacheHit) {
      expect(m.kbuildSteps).toBeGreaterThan(500);
      expect(jobs.get(job.id).progress.fraction).toBe(1);
    }
  }, 1_800_000);

  it('returns the cached kernel for the same inputs without running make', async () => {
    const { job, result } = build(labSpec());
    const again = await result;
    expect(again.cacheHit).toBe(true);
    expect(again.key).toBe(artifacts.key);
    const log = await jobs.readLog(job.id, 0);
    expect(log.text).not.toMatch(/\$ make .* -j\d+ bzImage/);
  });

  it('cancels a build mid-make, kills the make tree and leaves the cache consistent', async () => {
    // A changed config forces make to run (incrementally, in the kept O= folder).
    const { job, result } = build({ ...labSpec(), extra: { LOCALVERSION: '"-kdlab-cancel"' } });
    await waitFor(
      () => /^(CC|LD|AR|GEN|HOSTCC|UPD|CALL|SYNC)/.test(jobs.get(job.id).progress.message),
      300_000,
      100,
    );
    jobs.cancel(job.id);
    await expect(result).rejects.toMatchObject({ code: 'CANCELLED' });
    expect(jobs.get(job.id).state).toBe('cancelled');
    const makes = execFileSync('ps', ['-eo', 'args'], { encoding: 'utf8' })
      .split('\n')
      .filter((l) => l.includes('kdlab-cancel') || (l.includes('make') && l.includes(workspaceRoot)));
    expect(makes).toEqual([]);
    const entries = readdirSync(join(workspace.cacheDir, 'kernels'));
    expect(entries.filter((e) => e.startsWith('.staging-'))).toEqual([]);
    // The original kernel is still a valid cache entry.
    const still = await build(labSpec()).result;
    expect(still).toMatchObject({ cacheHit: true, key: artifacts.key });
  }, 600_000);
});
