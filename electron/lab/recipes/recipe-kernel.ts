// The kernel a recipe asks for, as a build spec: its source (the Debian tarball under /usr/src, a
// tarball or tree in the recipe folder, or an https:// tarball checked by its sha256) and its base
// (tinyconfig, defconfig, or a .config in the recipe folder). Shared by the runner and lab packs.
import { LabError } from '../../common/errors';
import type { KernelBuildSpec } from '../kernel/kernel-builder';
import { findSources } from '../kernel/sources';
import { recipeFile } from './recipe-loader';
import type { LoadedRecipe } from './recipe-loader';

/** What a built kernel's manifest records as its base for this recipe (see kernel-builder's baseName). */
export function recipeBaseLabel(loaded: LoadedRecipe): string {
  const base = loaded.recipe.kernel.base;
  return typeof base === 'string' ? base : `config-${base.config.split('/').at(-1)!}`;
}

/** The build spec, or null when the recipe wants the Debian sources and this machine has none. */
export async function recipeKernelSpec(
  loaded: LoadedRecipe,
  sourcesDir?: string,
): Promise<KernelBuildSpec | null> {
  const k = loaded.recipe.kernel;
  let source: Pick<KernelBuildSpec, 'source' | 'sha256'>;
  if (k.source === 'debian') {
    const found = (await findSources(sourcesDir))
      .filter((s) => s.kind === 'tarball' || s.kind === 'tree')
      .at(-1);
    if (!found) return null;
    source = { source: found.path };
  } else if (typeof k.source === 'string') {
    source = { source: await recipeFile(loaded, k.source) };
  } else {
    source = { source: k.source.url, sha256: k.source.sha256 };
  }
  return {
    ...source,
    base: typeof k.base === 'string' ? k.base : { configFile: await recipeFile(loaded, k.base.config) },
    fragments: k.fragments,
    extra: k.set,
  };
}

/** The spec, or the error a recipe gets when it needs the Debian kernel sources and they are absent. */
export async function requireRecipeKernelSpec(
  loaded: LoadedRecipe,
  sourcesDir?: string,
): Promise<KernelBuildSpec> {
  const spec = await recipeKernelSpec(loaded, sourcesDir);
  if (!spec)
    throw new LabError('NOT_FOUND', 'Packing needs the kernel sources: apt-get install -y linux-source-6.1');
  return spec;
}
