// Classroom lab packs: a teacher packs recipes with the kernels and modules they need (built, with
// their manifests) into one tar.gz; a student imports it with no network and no build. Every file is
// listed with its sha256 in pack.json, checked on import, and used again to grade reports.
import { recipeBaseLabel, requireRecipeKernelSpec } from './recipe-kernel';
import { cp, mkdir, readFile, readdir, rename, rm, stat } from 'node:fs/promises';
import { basename, dirname, join, relative } from 'node:path';
import { LabError } from '../../common/errors';
import type { Progress } from '../jobs';
import type { KernelArtifacts, KernelBuilder } from '../kernel/kernel-builder';
import { requireKind } from '../inbox';
import { ProgramBuilder } from '../image/programs';
import { ModuleBuilder } from '../kernel/module-builder';
import { runCommand } from '../process';
import type { Workspace } from '../workspace';
import { isInside, sha256File, writeJsonAtomic } from '../workspace';
import type { LoadedRecipe, RecipeCatalog } from './recipe-loader';
import { programSpecs } from './recipe-loader';

export interface PackManifest {
  format: 1;
  createdAt: string;
  recipes: string[];
  kernels: { key: string; release: string; buildId: string | null }[];
  modules: string[];
  /** Compiled user programs (cache entry + the compiler-free key of their sources), so importers need no gcc. */
  programs?: { key: string; sourceKey: string }[];
  /** The kernel (cache key) each recipe runs on: the student's run uses it, never a build. */
  recipeKernels?: Record<string, string>;
  files: Record<string, string>;
}

/** What LabPacks.import installed, and what it means for the recipes already here. */
export interface ImportResult extends PackManifest {
  /**
   * Pack recipes with the id of a shipped one: on this machine the pack's version is the one that
   * runs (kdlab run, the Recipes view) — a teacher's edited copy must not lose to the stock recipe.
   */
  replacesShipped: string[];
}

/** Manifests of the packs imported into a workspace (LabPacks.import keeps one per pack). */
export async function importedPackManifests(
  workspace: Workspace,
): Promise<{ source: string; manifest: PackManifest }[]> {
  const dir = join(workspace.stateDir, 'packs');
  const out: { source: string; manifest: PackManifest }[] = [];
  for (const name of (await readdir(dir).catch(() => [] as string[])).sort()) {
    if (!name.endsWith('.json')) continue;
    const manifest = JSON.parse(
      await readFile(join(dir, name), 'utf8').catch(() => 'null'),
    ) as PackManifest | null;
    if (manifest?.format === 1 && Array.isArray(manifest.recipes) && Array.isArray(manifest.kernels))
      out.push({ source: name.replace(/\.json$/, ''), manifest });
  }
  return out;
}

/**
 * The built kernel an imported lab pack holds for this recipe, when the recipe was installed from a
 * pack (it lives in the workspace's recipes/); null for shipped recipes or a pack kernel since pruned.
 */
export async function packKernelFor(
  workspace: Workspace,
  loaded: LoadedRecipe,
  kernels: KernelBuilder,
): Promise<{ pack: string; kernel: KernelArtifacts } | null> {
  if (!isInside(join(workspace.root, 'recipes'), loaded.dir)) return null;
  const recipe = loaded.recipe;
  const wanted = [
    ...(recipe.kernel.base === 'tinyconfig' ? ['tiny-x86_64'] : []),
    ...recipe.kernel.fragments,
  ];
  const built = await kernels.list();
  // Newest import first: a later pack of the same recipe replaced its files.
  for (const { source, manifest } of (await importedPackManifests(workspace)).reverse()) {
    if (!manifest.recipes.includes(recipe.id)) continue;
    const key = manifest.recipeKernels?.[recipe.id];
    // Packs made before recipeKernels: the pack kernel built from this recipe's base and fragments.
    const kernel = key
      ? built.find((k) => k.key === key)
      : built.find(
          (k) =>
            manifest.kernels.some((m) => m.key === k.key) &&
            k.manifest.base === recipeBaseLabel(loaded) &&
            JSON.stringify(k.manifest.fragments) === JSON.stringify(wanted) &&
            JSON.stringify(k.manifest.extra ?? {}) === JSON.stringify(recipe.kernel.set),
        );
    if (kernel) return { pack: source, kernel };
  }
  return null;
}

async function walk(dir: string, root = dir): Promise<string[]> {
  const out: string[] = [];
  for (const entry of await readdir(dir, { withFileTypes: true })) {
    const full = join(dir, entry.name);
    if (entry.isDirectory()) out.push(...(await walk(full, root)));
    else if (entry.isFile()) out.push(relative(root, full));
    else if (!entry.isSymbolicLink()) continue;
    else throw new LabError('FORBIDDEN', `${full} is a symbolic link; lab packs hold plain files only.`);
  }
  return out.sort();
}

export class LabPacks {
  constructor(
    private readonly workspace: Workspace,
    private readonly catalog: RecipeCatalog,
    private readonly kernels: KernelBuilder,
    private readonly labModulesDir: string,
  ) {}

  get recipesDir(): string {
    return join(this.workspace.root, 'recipes');
  }

  async pack(ids: string[], out: string, progress: Progress, signal: AbortSignal): Promise<PackManifest> {
    if (ids.length === 0) throw new LabError('BAD_REQUEST', 'Name at least one recipe to pack.');
    const staging = join(this.workspace.tmpDir, `pack-${process.pid}-${Date.now()}`);
    await mkdir(staging, { recursive: true });
    try {
      const manifest: PackManifest = {
        format: 1,
        createdAt: new Date().toISOString(),
        recipes: [],
        kernels: [],
        modules: [],
        programs: [],
        recipeKernels: {},
        files: {},
      };
      for (const [i, id] of ids.entries()) {
        const loaded = await this.catalog.get(id);
        progress.report({ fraction: i / (ids.length + 1), message: `Preparing ${id}` });
        await cp(loaded.dir, join(staging, 'recipes', id), { recursive: true, dereference: false });
        manifest.recipes.push(id);
        const kernel = await this.kernels.build(await requireRecipeKernelSpec(loaded), progress, signal);
        manifest.recipeKernels![id] = kernel.key;
        if (!manifest.kernels.some((x) => x.key === kernel.key)) {
          await cp(kernel.dir, join(staging, 'cache', 'kernels', kernel.key), { recursive: true });
          manifest.kernels.push({
            key: kernel.key,
            release: kernel.manifest.kernelRelease,
            buildId: kernel.manifest.buildId,
          });
        }
        for (const rel of loaded.recipe.modules) {
          const dir = rel.startsWith('lab:') ? join(this.labModulesDir, rel.slice(4)) : join(loaded.dir, rel);
          const built = await new ModuleBuilder(this.workspace).build(kernel, dir, progress, signal);
          const key = basename(dirname(built[0]!.ko));
          if (!manifest.modules.includes(key)) {
            await cp(dirname(built[0]!.ko), join(staging, 'cache', 'modules', key), { recursive: true });
            manifest.modules.push(key);
          }
        }
        if (loaded.recipe.programs.length > 0) {
          const specs = await programSpecs(loaded);
          const built = await new ProgramBuilder(this.workspace).buildEntry(specs, progress, signal);
          if (built.key && built.sourceKey && !manifest.programs!.some((x) => x.key === built.key)) {
            await cp(
              this.workspace.cache('programs').entryDir(built.key),
              join(staging, 'cache', 'programs', built.key),
              { recursive: true },
            );
            manifest.programs!.push({ key: built.key, sourceKey: built.sourceKey });
          }
        }
      }
      progress.report({ fraction: ids.length / (ids.length + 1), message: 'Hashing and compressing' });
      for (const rel of await walk(staging)) manifest.files[rel] = await sha256File(join(staging, rel));
      await writeJsonAtomic(join(staging, 'pack.json'), manifest);
      const partial = `${out}.partial-${process.pid}`;
      const tar = await runCommand(['tar', '-C', staging, '-czf', partial, '.'], { signal });
      if (tar.exitCode !== 0) {
        await rm(partial, { force: true });
        throw new LabError('IO', `tar failed: ${tar.stderr.trim()}`);
      }
      await rename(partial, out);
      progress.report({ fraction: 1, message: `Packed ${ids.join(', ')} → ${out}` });
      return manifest;
    } finally {
      await rm(staging, { recursive: true, force: true });
    }
  }

  /** Installs a pack: verifies every file against pack.json, then moves kernels, modules and recipes in. */
  async import(file: string, progress: Progress, signal: AbortSignal): Promise<ImportResult> {
    if (!(await stat(file).catch(() => null))) throw new LabError('NOT_FOUND', `${file} does not exist.`);
    // Told from its bytes first: a report, a vmcore or a log gets named, not a raw tar error.
    await requireKind(file, 'pack');
    const staging = join(this.workspace.tmpDir, `import-${process.pid}-${Date.now()}`);
    await mkdir(staging, { recursive: true });
    try {
      progress.report({ fraction: 0.1, message: 'Unpacking' });
      // GNU tar refuses members with '..' and strips leading '/'; links are refused below.
      const tar = await runCommand(
        ['tar', '-xzf', file, '-C', staging, '--no-same-owner', '--no-same-permissions'],
        {
          signal,
        },
      );
      if (tar.exitCode !== 0)
        throw new LabError(
          'BAD_REQUEST',
          `${basename(file)} is not a kdlab lab pack: it is not a complete gzip-compressed tar archive.`,
          'A lab pack is the file kdlab lab pack -o FILE wrote; ask for it again if it was cut short.',
        );
      let manifest: PackManifest | null = null;
      try {
        manifest = JSON.parse(await readFile(join(staging, 'pack.json'), 'utf8')) as PackManifest | null;
      } catch {
        manifest = null;
      }
      if (manifest?.format !== 1 || !Array.isArray(manifest.recipes) || typeof manifest.files !== 'object')
        throw new LabError(
          'BAD_REQUEST',
          `${basename(file)} is not a kdlab lab pack (no valid pack.json in it).`,
          'A lab pack is the file kdlab lab pack -o FILE wrote.',
        );
      progress.report({ fraction: 0.4, message: 'Verifying' });
      const present = (await walk(staging)).filter((f) => f !== 'pack.json');
      const listed = Object.keys(manifest.files);
      const extra = present.filter((f) => !(f in manifest.files));
      if (extra.length)
        throw new LabError(
          'BAD_REQUEST',
          `${file} holds files its manifest does not list: ${extra.slice(0, 3).join(', ')}.`,
        );
      for (const rel of listed) {
        const full = join(staging, rel);
        if (!isInside(staging, full)) throw new LabError('FORBIDDEN', `${rel} points outside the pack.`);
        const hash = await sha256File(full).catch(() => null);
        if (hash !== manifest.files[rel])
          throw new LabError(
            'BAD_REQUEST',
            `${rel} in ${file} is ${hash ? 'altered' : 'missing'} (sha256 does not match pack.json).`,
            'Ask for the pack again.',
          );
      }
      progress.report({ fraction: 0.7, message: 'Installing' });
      const install = async (from: string, to: string) => {
        if (await stat(to).catch(() => null)) await rm(to, { recursive: true, force: true });
        await mkdir(dirname(to), { recursive: true });
        await rename(from, to);
      };
      for (const k of manifest.kernels)
        await install(
          join(staging, 'cache', 'kernels', k.key),
          join(this.workspace.cacheDir, 'kernels', k.key),
        );
      for (const m of manifest.modules)
        await install(join(staging, 'cache', 'modules', m), join(this.workspace.cacheDir, 'modules', m));
      const programs = new ProgramBuilder(this.workspace);
      for (const p of manifest.programs ?? []) {
        await install(
          join(staging, 'cache', 'programs', p.key),
          join(this.workspace.cacheDir, 'programs', p.key),
        );
        await programs.remember(p.sourceKey, p.key);
      }
      const replacesShipped: string[] = [];
      for (const id of manifest.recipes)
        for (const root of this.catalog.roots.filter((r) => r !== this.recipesDir))
          if (await stat(join(root, id, 'recipe.yaml')).catch(() => null)) replacesShipped.push(id);
      for (const id of manifest.recipes)
        await install(join(staging, 'recipes', id), join(this.recipesDir, id));
      await writeJsonAtomic(join(this.workspace.stateDir, 'packs', `${basename(file)}.json`), manifest);
      if (replacesShipped.length)
        progress.log(
          `On this machine the pack's version of ${replacesShipped.join(', ')} is used instead of the shipped one.\n`,
        );
      progress.report({ fraction: 1, message: `Installed ${manifest.recipes.join(', ')}` });
      return { ...manifest, replacesShipped };
    } finally {
      await rm(staging, { recursive: true, force: true });
    }
  }
}
