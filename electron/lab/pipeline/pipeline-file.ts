// A pipeline file: the whole build → image → boot → trigger → capture chain of the seed write-ups in
// one YAML document. Validated with zod; errors name the file, line and column.
import { readFile } from 'node:fs/promises';
import { dirname, isAbsolute, resolve } from 'node:path';
import { LineCounter, parseDocument } from 'yaml';
import { z } from 'zod';
import { LabError } from '../../common/errors';
import type { CrashTrigger } from '../image/init-templates';

const optionName = z.string().regex(/^(CONFIG_)?[A-Za-z0-9_]+$/, 'a Kconfig option name');

export const pipelineSchema = z
  .object({
    kernel: z
      .object({
        source: z.string().min(1).optional(),
        sha256: z
          .string()
          .regex(/^[0-9a-f]{64}$/, 'a sha256 in hex')
          .optional(),
        base: z.string().min(1).default('tinyconfig'),
        fragments: z
          .array(z.string().regex(/^[\w-]+$/))
          .default(['kgdb', 'kdump', 'debuginfo', 'qemu-virt', 'modules']),
        set: z.record(optionName, z.union([z.string(), z.number(), z.boolean()])).default({}),
        optional: z.array(optionName).default([]),
        jobs: z.number().int().min(1).max(256).optional(),
      })
      .strict()
      .default({
        base: 'tinyconfig',
        fragments: ['kgdb', 'kdump', 'debuginfo', 'qemu-virt', 'modules'],
        set: {},
        optional: [],
      }),
    /** Out-of-tree module source folders (relative to the pipeline file), built with make M=. */
    modules: z.array(z.string().min(1)).default([]),
    vm: z
      .object({
        memoryMiB: z.number().int().min(128).max(16384).default(1024),
        crashkernelMiB: z.number().int().min(8).max(4096).optional(),
      })
      .strict()
      .default({ memoryMiB: 1024 }),
    trigger: z
      .union([
        z.literal('sysrq'),
        z.object({ 'init-exit': z.number().int().min(0).max(255) }).strict(),
        z
          .object({ module: z.string().regex(/^[\w.-]+\.ko$/, 'a module file name such as null-deref.ko') })
          .strict(),
      ])
      .default('sysrq'),
    capture: z
      .object({
        dumpLevel: z.number().int().min(0).max(31).default(31),
        target: z.enum(['virtio-disk', '9p']).default('virtio-disk'),
      })
      .strict()
      .default({ dumpLevel: 31, target: 'virtio-disk' }),
  })
  .strict();

export type PipelineSpec = z.output<typeof pipelineSchema>;

export interface LoadedPipeline {
  file: string;
  spec: PipelineSpec;
  trigger: CrashTrigger;
  /** Module source folders, absolute. */
  modules: string[];
}

export function triggerOf(spec: PipelineSpec): CrashTrigger {
  const t = spec.trigger;
  if (t === 'sysrq') return { kind: 'sysrq' };
  if ('init-exit' in t) return { kind: 'init-exit', code: t['init-exit'] };
  return { kind: 'module', file: t.module };
}

/** Parses and validates a pipeline document; every problem is reported as FILE:LINE:COL. */
export function parsePipeline(text: string, file: string): LoadedPipeline {
  const lines = new LineCounter();
  const doc = parseDocument(text, { lineCounter: lines, prettyErrors: false });
  const where = (offset: number | undefined) => {
    const pos = offset === undefined ? { line: 1, col: 1 } : lines.linePos(offset);
    return `${file}:${pos.line}:${pos.col}`;
  };
  if (doc.errors.length > 0) {
    throw new LabError(
      'BAD_REQUEST',
      doc.errors.map((e) => `${where(e.pos[0])}: ${e.message.split('\n')[0]}`).join('\n'),
      'The pipeline file is not valid YAML.',
    );
  }
  const parsed = pipelineSchema.safeParse(doc.toJS() ?? {});
  if (!parsed.success) {
    const problems = parsed.error.issues.map((issue) => {
      // Point at the deepest node that exists for this path.
      let path = issue.path.map((p) => (typeof p === 'symbol' ? String(p) : p));
      let node = doc.getIn(path, true) as { range?: [number, number, number] } | undefined;
      while (!node?.range && path.length > 0) {
        path = path.slice(0, -1);
        node = (path.length ? doc.getIn(path, true) : doc.contents) as typeof node;
      }
      const at = issue.path.length ? issue.path.join('.') : '(top level)';
      return `${where(node?.range?.[0])}: ${at}: ${issue.message}`;
    });
    throw new LabError(
      'BAD_REQUEST',
      problems.join('\n'),
      'See recipes/pipelines/sysrq-kdump.yaml for a complete example.',
    );
  }
  const base = dirname(file);
  const spec = parsed.data;
  return {
    file,
    spec,
    trigger: triggerOf(spec),
    modules: spec.modules.map((m) => (isAbsolute(m) ? m : resolve(base, m))),
  };
}

export async function loadPipeline(file: string): Promise<LoadedPipeline> {
  const text = await readFile(file, 'utf8').catch((error: NodeJS.ErrnoException) => {
    throw new LabError('NOT_FOUND', `Cannot read the pipeline file ${file}: ${error.code ?? error.message}.`);
  });
  return parsePipeline(text, file);
}
