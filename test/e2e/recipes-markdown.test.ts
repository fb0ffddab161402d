// The Recipes view in a real browser against `kdlab serve`: the labs in course order, and a step's
// Markdown explanation (heading, list, code spans, a code block) rendered as elements, in English
// and Chinese. Screenshots of the step in both languages.
import { mkdirSync } from 'node:fs';
import { join } from 'node:path';
import type { Browser, Page } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { launchChromium, openLabPage } from '../helpers/browser';
import { appRoot, ensureBuilt } from '../helpers/build';
import { testWorkspaceRoot } from '../helpers/lab-kernel';
import { startServed } from '../helpers/serve';
import type { ServedApp } from '../helpers/serve';

const shots = join(appRoot, 'test-output', 'screenshots');
let app: ServedApp;
let browser: Browser;
let page: Page;
const pageErrors: string[] = [];

beforeAll(async () => {
  ensureBuilt();
  mkdirSync(shots, { recursive: true });
  const env: NodeJS.ProcessEnv = { ...process.env, KDLAB_HOME: testWorkspaceRoot };
  delete env.DISPLAY;
  app = await startServed(['node', 'electron/cli/bin.cjs', 'serve'], env);
  browser = await launchChromium();
  page = await openLabPage(browser, app.url, pageErrors);
}, 300_000);

afterAll(async () => {
  await browser?.close();
  await app?.stop();
});

describe('Recipes view, explanations', () => {
  it('lists the labs in course order and renders a step’s Markdown in both languages', async () => {
    await page.goto(`${app.origin}/#/recipes`);
    const catalog = page.getByTestId('recipe-catalog');
    await catalog.locator('strong').first().waitFor();
    const titles = await catalog.locator('strong').allTextContents();
    expect(titles[0]).toMatch(/^Boot/);
    expect(titles[2]).toMatch(/^Forget \/init/);
    expect(titles[9]).toMatch(/^crashkernel= too small/);

    await catalog.getByRole('button', { name: /Forget \/init/ }).click();
    const step = page.getByTestId('step-rdinit');
    const explain = page.getByTestId('explain-rdinit');
    await explain.scrollIntoViewIfNeeded();
    await expect
      .poll(() => explain.getByRole('heading').textContent())
      .toBe('How the kernel picks its first program (init/main.c, 6.1)');
    expect(await explain.locator('li').count()).toBe(3);
    expect(await explain.locator('li code').first().textContent()).toBe('ramdisk_execute_command');
    expect(await explain.locator('pre code').textContent()).toBe('Run /bin/sh as init process');
    expect(await explain.textContent()).not.toContain('###');
    await step.screenshot({ path: join(shots, 'recipes-explanation-en.png') });

    await page.locator('nav select').selectOption('zh-CN');
    await expect
      .poll(() => explain.getByRole('heading').textContent())
      .toBe('内核如何选择第一个程序（init/main.c，6.1）');
    await step.screenshot({ path: join(shots, 'recipes-explanation-zh-CN.png') });
    await page.locator('nav select').selectOption('en');
    expect(pageErrors).toEqual([]);
  }, 120_000);
});
