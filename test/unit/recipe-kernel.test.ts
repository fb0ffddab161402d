// A recipe's kernel input: the Debian sources, a tarball/tree or .config in the recipe folder, or an
// https:// tarball with its sha256 — resolved inside the recipe folder, refused outside it.
import { mkdir, symlink, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { parseRecipe } from '../../electron/lab/recipes/recipe-loader';
import type { LoadedRecipe } from '../../electron/lab/recipes/recipe-loader';
import { recipeBaseLabel, recipeKernelSpec } from '../../electron/lab/recipes/recipe-kernel';
import { rejection } from '../helpers/lab-error';
import { withTempDir } from '../helpers/temp';

async function loaded(dir: string, kernel: string): Promise<LoadedRecipe> {
  const file = join(dir, 'recipe.yaml');
  const text = `id: k
title: { en: K, zh-CN: 内核 }
level: beginner
minutes: 1
objectives: [{ en: Test, zh-CN: 测试 }]
kernel: ${kernel}
steps:
  - { id: b, do: build, title: { en: B, zh-CN: 编译 }, explain: { en: E, zh-CN: 解释 } }
`;
  await writeFile(file, text);
  return { recipe: parseRecipe(text, file), dir, file };
}

describe('recipe kernel input', () => {
  it('takes the newest Debian source tarball by default, and null without one', async () => {
    await withTempDir(async (dir) => {
      const src = join(dir, 'usr-src');
      await mkdir(src);
      const recipe = await loaded(dir, '{ fragments: [kgdb] }');
      expect(await recipeKernelSpec(recipe, src)).toBeNull();
      await writeFile(join(src, 'linux-source-6.1.tar.xz'), '');
      expect(await recipeKernelSpec(recipe, src)).toMatchObject({
        source: join(src, 'linux-source-6.1.tar.xz'),
        base: 'tinyconfig',
        fragments: ['kgdb'],
        extra: {},
      });
      expect(recipeBaseLabel(recipe)).toBe('tinyconfig');
    });
  });

  it('resolves a tarball and a .config in the recipe folder', async () => {
    await withTempDir(async (dir) => {
      await writeFile(join(dir, 'linux-6.6.tar.xz'), '');
      await writeFile(join(dir, 'lab.config'), 'CONFIG_64BIT=y\n');
      const recipe = await loaded(
        dir,
        "{ source: linux-6.6.tar.xz, base: { config: lab.config }, set: { PRINTK: 'y' } }",
      );
      expect(await recipeKernelSpec(recipe)).toEqual({
        source: join(dir, 'linux-6.6.tar.xz'),
        base: { configFile: join(dir, 'lab.config') },
        fragments: ['kgdb', 'kdump', 'debuginfo', 'qemu-virt', 'modules'],
        extra: { PRINTK: 'y' },
      });
      // What the kernel builder records as the base, so a packed kernel is found again.
      expect(recipeBaseLabel(recipe)).toBe('config-lab.config');
    });
  });

  it('passes an https tarball with its sha256 to the builder', async () => {
    await withTempDir(async (dir) => {
      const sha256 = 'a'.repeat(64);
      const recipe = await loaded(
        dir,
        `{ source: { url: 'https://cdn.kernel.org/linux-6.6.tar.xz', sha256: ${sha256} } }`,
      );
      expect(await recipeKernelSpec(recipe)).toMatchObject({
        source: 'https://cdn.kernel.org/linux-6.6.tar.xz',
        sha256,
      });
    });
  });

  it('refuses a source or .config outside the recipe folder', async () => {
    await withTempDir(async (dir) => {
      // Parent paths are refused by the schema, with the file's line and column.
      await expect(loaded(dir, '{ source: ../linux.tar.xz }')).rejects.toThrow(
        /recipe\.yaml:6:\d+.*a path inside the recipe folder/s,
      );
      await expect(loaded(dir, "{ source: { url: 'http://x/linux.tar.xz', sha256: abc } }")).rejects.toThrow(
        /https:\/\/ tarball URL/,
      );
      // A symlink leading out is refused when it is resolved.
      await symlink('/etc', join(dir, 'elsewhere'));
      const recipe = await loaded(dir, '{ base: { config: elsewhere/passwd } }');
      expect((await rejection(recipeKernelSpec(recipe))).code).toBe('FORBIDDEN');
    });
  });
});
