// Recipes on disk: recipes/<id>/recipe.yaml. Parsed with positions so every schema problem is
// reported as FILE:LINE:COL, never as a stack trace; a recipe's own files must stay in its folder.
import { readFile, readdir, realpath, stat } from 'node:fs/promises';
import { join } from 'node:path';
import { LineCounter, parseDocument } from 'yaml';
import type { ProgramSpec } from '../image/programs';
import { LabError } from '../../common/errors';
import { isInside } from '../workspace';
import type { RecipeProblem } from './recipe-problem';
import { recipeSchema } from './recipe-schema';
import type { Recipe } from './recipe-schema';

export type { RecipeProblem };

export interface LoadedRecipe {
  recipe: Recipe;
  dir: string;
  file: string;
}

export function parseRecipe(textIn: string, file: string): Recipe {
  const lines = new LineCounter();
  const doc = parseDocument(textIn, { lineCounter: lines, prettyErrors: false });
  const where = (offset: number | undefined) => {
    const pos = offset === undefined ? { line: 1, col: 1 } : lines.linePos(offset);
    return `${file}:${pos.line}:${pos.col}`;
  };
  if (doc.errors.length > 0)
    throw new LabError(
      'BAD_REQUEST',
      doc.errors.map((e) => `${where(e.pos[0])}: ${e.message.split('\n')[0]}`).join('\n'),
      'The recipe is not valid YAML.',
    );
  const parsed = recipeSchema.safeParse(doc.toJS() ?? {});
  if (parsed.success) return parsed.data;
  throw new LabError(
    'BAD_REQUEST',
    parsed.error.issues
      .map((issue) => {
        let path = issue.path.map((p) => (typeof p === 'symbol' ? String(p) : p));
        let node = doc.getIn(path, true) as { range?: [number, number, number] } | undefined;
        while (!node?.range && path.length > 0) {
          path = path.slice(0, -1);
          node = (path.length ? doc.getIn(path, true) : doc.contents) as typeof node;
        }
        return `${where(node?.range?.[0])}: ${issue.path.join('.') || '(top level)'}: ${issue.message}`;
      })
      .join('\n'),
    'See recipes/README.md for the recipe format.',
  );
}

/** A file of the recipe, refusing anything that resolves outside its folder (symlinks included). */
export async function recipeFile(loaded: LoadedRecipe, rel: string): Promise<string> {
  const full = join(loaded.dir, rel);
  const real = await realpath(full).catch(() => null);
  if (!real) throw new LabError('NOT_FOUND', `${loaded.file}: ${rel} does not exist in the recipe folder.`);
  if (!isInside(await realpath(loaded.dir), real))
    throw new LabError('FORBIDDEN', `${loaded.file}: ${rel} resolves outside the recipe folder (${real}).`);
  return real;
}

/** The recipe's programs with their sources resolved inside its folder, ready for ProgramBuilder. */
export async function programSpecs(loaded: LoadedRecipe): Promise<ProgramSpec[]> {
  const specs: ProgramSpec[] = [];
  for (const program of loaded.recipe.programs)
    specs.push({
      ...program,
      sources: await Promise.all(program.sources.map((rel) => recipeFile(loaded, rel))),
    });
  return specs;
}

export class RecipeCatalog {
  /** Searched in order: the first root holding an id wins (list and get agree). */
  constructor(readonly roots: string[]) {}

  async list(): Promise<LoadedRecipe[]> {
    const found: LoadedRecipe[] = [];
    const seen = new Set<string>();
    for (const root of this.roots) {
      for (const name of (await readdir(root).catch(() => [] as string[])).sort()) {
        const file = join(root, name, 'recipe.yaml');
        if (seen.has(name) || !(await stat(file).catch(() => null))) continue;
        seen.add(name);
        found.push({ recipe: parseRecipe(await readFile(file, 'utf8'), file), dir: join(root, name), file });
      }
    }
    return found;
  }

  /**
   * Every recipe that loads, and every one that does not with its errors: one bad recipe (a
   * teacher's typo, a half-written lab) must not hide the others from the list.
   */
  async scan(): Promise<{ recipes: LoadedRecipe[]; problems: RecipeProblem[] }> {
    const recipes: LoadedRecipe[] = [];
    const problems: RecipeProblem[] = [];
    const seen = new Set<string>();
    for (const root of this.roots) {
      for (const name of (await readdir(root).catch(() => [] as string[])).sort()) {
        const file = join(root, name, 'recipe.yaml');
        // The first root holding an id wins, as in get().
        if (seen.has(name) || !(await stat(file).catch(() => null))) continue;
        seen.add(name);
        try {
          recipes.push({
            recipe: parseRecipe(await readFile(file, 'utf8'), file),
            dir: join(root, name),
            file,
          });
        } catch (e) {
          const error = e instanceof LabError ? e : new LabError('IO', `${file}: ${(e as Error).message}`);
          problems.push({ file, id: name, message: error.message, hint: error.hint });
        }
      }
    }
    return { recipes, problems };
  }

  async get(id: string): Promise<LoadedRecipe> {
    if (!/^[a-z0-9-]+$/.test(id))
      throw new LabError('BAD_REQUEST', `${JSON.stringify(id)} is not a recipe id.`);
    for (const root of this.roots) {
      const file = join(root, id, 'recipe.yaml');
      const textIn = await readFile(file, 'utf8').catch(() => null);
      if (textIn !== null) {
        const recipe = parseRecipe(textIn, file);
        if (recipe.id !== id)
          throw new LabError('BAD_REQUEST', `${file}: its id is ${recipe.id}, but its folder is ${id}.`);
        return { recipe, dir: join(root, id), file };
      }
    }
    throw new LabError('NOT_FOUND', `No recipe ${id}.`, 'kdlab recipes list shows the recipes.');
  }
}
