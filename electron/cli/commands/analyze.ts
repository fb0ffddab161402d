// kdlab analyze <vmcore|library-id>: the structured crash report as JSON, Markdown or HTML.
import { stat } from 'node:fs/promises';
import { join, resolve } from 'node:path';
import { LabError } from '../../common/errors';
import { analyzeVmcore, findVmlinux, renderHtml, renderMarkdown } from '../../lab/analyze/crash/analyzer';
import { openExecutor, parseExecutorKind } from '../../lab/exec/executor-settings';
import type { LabBackend } from '../../lab/lab-backend';
import { writeFileAtomic } from '../../lab/workspace';
import type { Command } from '../command';
import { runJob, str, withBackend } from '../command';

/** A library id or a path; the vmlinux from the library's metadata unless one is given. */
export async function resolveVmcore(
  backend: LabBackend,
  target: string,
  vmlinux: string | undefined,
): Promise<{ vmcore: string; vmlinux: string }> {
  if (await stat(target).catch(() => null)) {
    // A path inside the library has its meta.json beside it; elsewhere --vmlinux is needed.
    const vmcore = resolve(target);
    return { vmcore, vmlinux: vmlinux ? resolve(vmlinux) : await findVmlinux(vmcore, backend.workspace) };
  }
  const entry = await backend.vmcores.get(target);
  const recorded =
    entry.meta.vmlinux ?? join(backend.workspace.cache('kernels').entryDir(entry.meta.kernelKey), 'vmlinux');
  return { vmcore: entry.vmcore, vmlinux: vmlinux ? resolve(vmlinux) : recorded };
}

export const analyzeCommand: Command = {
  summary: 'Run crash on a vmcore and print a structured report (json, md or html)',
  usage: `kdlab analyze <vmcore|library-id> [--vmlinux FILE] [--format json|md|html] [-o FILE] [--executor host|docker]

  Checks that vmlinux and vmcore belong together first, then runs crash -s (sys, bt -l, bt -a, log -m,
  ps, mod, mod -t, then dis -l of the faulting code). The report is stored beside the vmcore in the library and reused.
  --executor E  host, or docker (readelf and crash in the kdlab/toolchain container); default: the workspace setting`,
  options: {
    vmlinux: { type: 'string' },
    format: { type: 'string' },
    output: { type: 'string', short: 'o' },
    executor: { type: 'string' },
  },
  positionals: true,
  run: (values, ctx, [target]) =>
    withBackend(ctx, 'web', async (backend) => {
      if (!target)
        throw new LabError(
          'BAD_REQUEST',
          'kdlab analyze needs a vmcore path or a library id (kdlab vmcores).',
        );
      const format = typeof values.format === 'string' ? values.format : 'md';
      if (!['json', 'md', 'html'].includes(format))
        throw new LabError('BAD_REQUEST', `--format ${format}: expected json, md or html.`);
      const input = await resolveVmcore(
        backend,
        target,
        typeof values.vmlinux === 'string' ? values.vmlinux : undefined,
      );
      const kind = parseExecutorKind(str(values.executor), '--executor');
      const executor = await openExecutor(backend.workspace, { executor: kind, job: 'analyze' });
      const report = await runJob(
        backend,
        ctx,
        format === 'json' || typeof values.output === 'string',
        {
          title: `Analyzing the vmcore${executor.kind === 'host' ? '' : ` in ${executor.describe()}`}`,
          kind: 'analyze',
        },
        (p, s) => analyzeVmcore({ ...input, executor }, p, s),
      ).finally(() => executor.dispose());
      const text =
        format === 'json'
          ? `${JSON.stringify(report, null, 2)}\n`
          : format === 'html'
            ? renderHtml(report)
            : renderMarkdown(report);
      if (typeof values.output === 'string') {
        await writeFileAtomic(values.output, text);
        ctx.stderr.write(`report written to ${values.output}\n`);
      } else ctx.stdout.write(text);
      return 0;
    }),
};
