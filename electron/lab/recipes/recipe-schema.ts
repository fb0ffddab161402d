// The recipe format: a YAML lab with bilingual text, inputs (kernel, modules, image, VM) and steps,
// each step with checks against the facts of the student's own run. Validated with zod; errors are
// reported as FILE:LINE:COL by the loader.
import { z } from 'zod';
import { factPathProblem, factsMadeBy } from './recipe-facts';

export const text = z.object({ en: z.string().min(1), 'zh-CN': z.string().min(1) }).strict();
const regex = z.string().refine((s) => {
  try {
    new RegExp(s);
    return true;
  } catch {
    return false;
  }
}, 'a valid regular expression');
const relPath = z
  .string()
  .min(1)
  .refine((p) => !p.startsWith('/') && !p.split('/').includes('..'), 'a path inside the recipe folder');

/** A fact of the run: `console`, `decoded.function`, `vmcore.meta.panic`, `crash.output`… */
const factPath = z
  .string()
  .regex(/^[a-zA-Z][\w]*(\.[\w]+|\[\d+\])*$/, 'a fact path such as decoded.exitCode');

export const checkSchema = z.union([
  z.object({ console: regex }).strict(),
  z.object({ output: regex }).strict(),
  z.object({ fact: factPath, equals: z.union([z.string(), z.number(), z.boolean(), z.null()]) }).strict(),
  z.object({ fact: factPath, matches: regex }).strict(),
  z.object({ imageHas: z.string().startsWith('/') }).strict(),
  z.object({ imageLacks: z.string().startsWith('/') }).strict(),
]);
export type RecipeCheck = z.infer<typeof checkSchema>;

const initSchema = z.union([
  z.enum(['shell', 'sysrq']),
  z.object({ exit: z.number().int().min(0).max(255) }).strict(),
  /** A script from the recipe folder, used as /init as it is. */
  z.object({ script: relPath }).strict(),
]);

const stepBase = {
  id: z.string().regex(/^[a-z0-9-]+$/),
  title: text,
  explain: text,
  expect: z.array(checkSchema).default([]),
};

export const stepSchema = z.discriminatedUnion('do', [
  z.object({ ...stepBase, do: z.literal('build') }).strict(),
  z.object({ ...stepBase, do: z.literal('image') }).strict(),
  z
    .object({
      ...stepBase,
      do: z.literal('boot'),
      /** Waits for this pattern on the console (or a panic) before the step's checks. */
      until: regex.default('KDLAB-INIT-READY'),
      timeout: z.number().int().min(1).max(600).default(90),
      /** Kernel command-line words for this boot only, after vm.append (e.g. rdinit=/bin/sh). */
      append: z.array(z.string().regex(/^[\w.,=:/-]+$/)).default([]),
    })
    .strict(),
  z.object({ ...stepBase, do: z.literal('send'), text: z.string().min(1) }).strict(),
  z
    .object({
      ...stepBase,
      do: z.literal('wait'),
      pattern: regex,
      timeout: z.number().int().min(1).max(600).default(60),
    })
    .strict(),
  z
    .object({
      ...stepBase,
      do: z.literal('capture'),
      trigger: z.union([
        z.literal('sysrq'),
        z.object({ 'init-exit': z.number().int().min(0).max(255) }).strict(),
        z.object({ module: z.string().regex(/^[\w.-]+\.ko$/) }).strict(),
      ]),
      /** A size, or the student's answer to a question step (`{ answer: STEP-ID }`, in MiB). */
      crashkernelMiB: z
        .union([
          z.number().int().min(8).max(4096),
          z.object({ answer: z.string().regex(/^[a-z0-9-]+$/) }).strict(),
        ])
        .optional(),
      /** Written to /proc/sys before the trigger, e.g. kernel.softlockup_panic: 1 (a hang becomes a panic). */
      sysctl: z
        .record(
          z.string(),
          z.union([z.number().int(), z.string().regex(/^[\w.:-]+$/, 'a plain sysctl value')]),
        )
        // Keys checked here rather than by the record, so the error names the problem, not "Invalid key".
        .superRefine((sysctls, ctx) => {
          for (const name of Object.keys(sysctls))
            if (!/^[a-z][a-z0-9_]*(\.[a-z0-9_-]+)+$/.test(name))
              ctx.addIssue({
                code: 'custom',
                path: [name],
                message: 'a sysctl name such as kernel.softlockup_panic',
              });
        })
        .default({}),
      /** Expect kexec -p to fail (the too-small crashkernel lab): the error becomes the fact `captureError`. */
      expectFailure: z.boolean().default(false),
    })
    .strict(),
  z.object({ ...stepBase, do: z.literal('crash'), commands: z.array(z.string().min(1)).min(1) }).strict(),
  z.object({ ...stepBase, do: z.literal('gdb'), commands: z.array(z.string().min(1)).min(1) }).strict(),
  /**
   * Finds the decoded user segfault (`… segfault at … ip … in OBJ[BASE+SIZE]`) in the host copy of
   * the recipe's program OBJ: `segfault.{offset,address,function,sourceFile,line,instruction,…}`.
   */
  z.object({ ...stepBase, do: z.literal('segfault') }).strict(),
  /** Decodes the console log of the last run into `decoded` (the first report) and `reports`. */
  z.object({ ...stepBase, do: z.literal('decode') }).strict(),
  /**
   * The analyzer's crash report of the run's vmcore as `report.*` (summary, backtrace[N], task,
   * processes, modules…) and where it faulted as `report.fault.*`: the source line from the debug
   * info of the faulting module's .ko (or vmlinux), and with `struct`, the member at the fault address.
   */
  z
    .object({
      ...stepBase,
      do: z.literal('analyze'),
      struct: z
        .string()
        .regex(/^[A-Za-z_]\w*$/, 'a struct name such as kdlab_dev')
        .optional(),
    })
    .strict(),
  z
    .object({
      ...stepBase,
      do: z.literal('question'),
      ask: text,
      /**
       * The right answer is a fact of the run, not a fixed string; `at-least`: any number (a size in
       * MiB: 160, 160M, 1G) not below the fact is right.
       */
      answer: z.object({ fact: factPath, compare: z.enum(['same', 'at-least']).default('same') }).strict(),
    })
    .strict(),
]);
export type RecipeStep = z.infer<typeof stepSchema>;

export const recipeSchema = z
  .object({
    id: z.string().regex(/^[a-z0-9-]+$/),
    title: text,
    level: z.enum(['beginner', 'intermediate', 'advanced']),
    /** The lab's place in the course (the issue numbers them 1–10); lists sort by it. */
    order: z.number().int().min(1).max(999).optional(),
    minutes: z.number().int().min(1).max(600),
    objectives: z.array(text).min(1),
    seeds: z.array(z.string()).default([]),
    /** Where the recipe's steps run; absent: the workspace setting (host or docker). */
    executor: z.enum(['host', 'docker']).optional(),
    kernel: z
      .object({
        /**
         * Where the kernel comes from: `debian` (the newest linux-source tarball or tree under
         * /usr/src), a tarball or tree in the recipe folder, or an https:// tarball with its sha256.
         */
        source: z
          .union([
            z.literal('debian'),
            relPath,
            z
              .object({
                url: z.string().regex(/^https:\/\/[^\s]+$/, 'an https:// tarball URL'),
                sha256: z.string().regex(/^[0-9a-f]{64}$/, "the tarball's sha256 (64 hex digits)"),
              })
              .strict(),
          ])
          .default('debian'),
        /** tinyconfig, defconfig, or a .config in the recipe folder ({config: FILE}); fragments are merged on top. */
        base: z
          .union([z.enum(['tinyconfig', 'defconfig']), z.object({ config: relPath }).strict()])
          .default('tinyconfig'),
        fragments: z.array(z.string()).default(['kgdb', 'kdump', 'debuginfo', 'qemu-virt', 'modules']),
        set: z.record(z.string(), z.string()).default({}),
      })
      .strict()
      .default({
        source: 'debian',
        base: 'tinyconfig',
        fragments: ['kgdb', 'kdump', 'debuginfo', 'qemu-virt', 'modules'],
        set: {},
      }),
    /** Module source folders inside the recipe folder, or `lab:NAME` for lab-images/modules/NAME; built with make M=. */
    modules: z.array(z.union([relPath, z.string().regex(/^lab:[a-z0-9-]+$/)])).default([]),
    /** User programs compiled with the host's gcc (-g kept) and put in the image with their libraries. */
    programs: z
      .array(
        z
          .object({
            name: z.string().regex(/^[\w][\w.+-]*$/, 'a file name such as libkdlab.so'),
            kind: z.enum(['executable', 'shared']).default('executable'),
            sources: z.array(relPath.refine((p) => p.endsWith('.c'), 'a .c file')).min(1),
            /** Shared programs listed before this one that it links against. */
            link: z.array(z.string()).default([]),
            cflags: z.array(z.string().regex(/^-[\w=.,+-]+$/, 'a compiler flag such as -O1')).default([]),
            path: z
              .string()
              .regex(/^(\/[\w.+-]+)+$/, 'an absolute path in the image')
              .refine((p) => !p.split('/').includes('..') && p !== '/init', 'not /init (use image.init)'),
          })
          .strict(),
      )
      .default([]),
    image: z
      .object({
        init: initSchema.default('shell'),
        omitInit: z.boolean().default(false),
        /** How boot steps get it: an initramfs (initrd), or an ext4 rootfs made from it (root=/dev/vda). */
        format: z.enum(['initramfs', 'rootfs']).default('initramfs'),
        /** Free space added to a rootfs. */
        extraMiB: z.number().int().min(0).max(4096).default(0),
      })
      .strict()
      .default({ init: 'shell', omitInit: false, format: 'initramfs', extraMiB: 0 }),
    vm: z
      .object({
        memoryMiB: z.number().int().min(128).max(8192).default(512),
        cpus: z.number().int().min(1).max(8).default(1),
        gdb: z.boolean().default(false),
        paused: z.boolean().default(false),
        append: z.array(z.string().regex(/^[\w.,=:/-]+$/)).default([]),
      })
      .strict()
      .default({ memoryMiB: 512, cpus: 1, gdb: false, paused: false, append: [] }),
    steps: z.array(stepSchema).min(1),
  })
  .strict()
  .superRefine((recipe, ctx) => {
    const shared = new Set<string>();
    recipe.programs.forEach((program, i) => {
      program.link.forEach((lib, j) => {
        if (!shared.has(lib))
          ctx.addIssue({
            code: 'custom',
            path: ['programs', i, 'link', j],
            message: `${lib} is not a shared program listed before ${program.name}`,
          });
      });
      if (program.kind === 'shared') shared.add(program.name);
    });
    const ids = new Set<string>();
    recipe.steps.forEach((s, i) => {
      if (ids.has(s.id))
        ctx.addIssue({ code: 'custom', path: ['steps', i, 'id'], message: `duplicate step id ${s.id}` });
      ids.add(s.id);
    });
    // Fact paths against what the steps up to each one make: a typo is a load error, not a check
    // that can never pass.
    const made = new Set<string>(['answers', 'executor']);
    recipe.steps.forEach((s, i) => {
      for (const root of factsMadeBy[s.do] ?? []) made.add(root);
      s.expect.forEach((check, j) => {
        const problem = 'fact' in check ? factPathProblem(check.fact, made) : null;
        if (problem)
          ctx.addIssue({ code: 'custom', path: ['steps', i, 'expect', j, 'fact'], message: problem });
      });
      const problem = s.do === 'question' ? factPathProblem(s.answer.fact, made) : null;
      if (problem) ctx.addIssue({ code: 'custom', path: ['steps', i, 'answer', 'fact'], message: problem });
    });
  });

export type Recipe = z.output<typeof recipeSchema>;
