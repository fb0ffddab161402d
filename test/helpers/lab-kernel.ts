// The lab kernel every pipeline test boots: built once (a cache hit afterwards) in a workspace that
// persists between runs on the same machine.
import { homedir } from 'node:os';
import { join } from 'node:path';
import { JobManager } from '../../electron/lab/jobs';
import { KernelBuilder } from '../../electron/lab/kernel/kernel-builder';
import type { KernelArtifacts } from '../../electron/lab/kernel/kernel-builder';
import { findSources } from '../../electron/lab/kernel/sources';
import { Workspace } from '../../electron/lab/workspace';
import { appRoot } from './build';

export const testWorkspaceRoot =
  process.env.KDLAB_TEST_WORKSPACE ?? join(homedir(), '.cache', 'kdlab-test', 'workspace');

export async function labKernel(): Promise<{
  workspace: Workspace;
  kernel: KernelArtifacts;
  jobs: JobManager;
}> {
  const workspace = await Workspace.open(testWorkspaceRoot);
  const jobs = new JobManager({ logDir: workspace.jobsDir });
  const source = (await findSources()).find((s) => s.version === '6.1');
  if (!source) throw new Error('linux-source-6.1 is not installed: run scripts/setup.sh');
  const builder = new KernelBuilder(workspace, join(appRoot, 'lab-images', 'kconfig'));
  const kernel = await jobs.withProgress({ title: 'Lab kernel', kind: 'kernel-build' }, (progress, signal) =>
    builder.build(
      {
        source: source.path,
        base: 'tinyconfig',
        fragments: ['kgdb', 'kdump', 'debuginfo', 'qemu-virt', 'modules'],
      },
      progress,
      signal,
    ),
  );
  return { workspace, kernel, jobs };
}
