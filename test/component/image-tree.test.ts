// The Images view's contents tree on a real listing: the busybox initramfs the lab kernel's
// gen_init_cpio packed, read back from the cpio (test/fixtures/images/initramfs-shell.json, checked
// against a fresh image by test/integration/image-listing.test.ts). Folders open and close by mouse
// and keyboard; sizes, symlink targets and device nodes are shown as such, in both languages.
import { fireEvent, render, screen, within } from '@testing-library/svelte';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { tick } from 'svelte';
import { afterEach, describe, expect, it } from 'vitest';
import type { ImageSummary } from '../../electron/common/types';
import ImageTree from '../../renderer/src/lib/components/ImageTree.svelte';
import { i18n } from '../../renderer/src/lib/i18n/i18n.svelte';

const image = JSON.parse(
  readFileSync(join(process.cwd(), 'test/fixtures/images/initramfs-shell.json'), 'utf8'),
) as ImageSummary;
const busybox = image.entries.find((e) => e.path === '/bin/busybox')!;

const row = (path: string) => document.querySelector<HTMLElement>(`[role=treeitem][data-path="${path}"]`);
const names = () => screen.getAllByRole('treeitem').map((r) => r.dataset.path);

afterEach(() => {
  i18n.language = 'en';
});

describe('image contents tree', () => {
  it('starts with the top folders closed and opens /dev by click: device nodes as such', async () => {
    render(ImageTree, { entries: image.entries, label: 'Contents' });
    const tree = screen.getByRole('tree', { name: 'Contents' });
    expect(names()).toEqual([
      '/bin',
      '/dev',
      '/etc',
      '/lib',
      '/mnt',
      '/proc',
      '/root',
      '/sbin',
      '/sys',
      '/tmp',
      '/init',
    ]);
    expect(row('/dev')!.getAttribute('aria-expanded')).toBe('false');
    await fireEvent.click(row('/dev')!);
    expect(row('/dev')!.getAttribute('aria-expanded')).toBe('true');
    const consoleRow = row('/dev/console')!;
    expect(consoleRow.getAttribute('aria-level')).toBe('2');
    expect(consoleRow.textContent).toContain('device node');
    expect(consoleRow.textContent).toContain('character device 5:1');
    expect(consoleRow.textContent).toContain('0600');
    expect(row('/dev/null')!.textContent).toContain('character device 1:3');
    await fireEvent.click(row('/dev')!);
    expect(row('/dev/console')).toBeNull();
    expect(within(tree).getAllByRole('treeitem')).toHaveLength(11);
  });

  it('shows file sizes and folder totals; applet links only when asked, with their target', async () => {
    const view = render(ImageTree, { entries: image.entries, label: 'Contents' });
    await fireEvent.click(row('/bin')!);
    const kib = `${(busybox.size! / 1024 / 1024).toFixed(1)} MiB`;
    expect(row('/bin/busybox')!.textContent).toContain(kib);
    expect(row('/bin')!.textContent).toContain(kib);
    expect(row('/bin/sh')).toBeNull();
    await view.rerender({ entries: image.entries, label: 'Contents', showApplets: true });
    expect(row('/bin/sh')!.textContent).toMatch(/symlink.*→ busybox/);
    expect(row('/init')!.textContent).toMatch(/file.*0755/);
  });

  it('is operated with the keyboard: arrows move, Right opens and enters, Left closes and goes up', async () => {
    render(ImageTree, { entries: image.entries, label: 'Contents' });
    const first = row('/bin')!;
    expect(first.tabIndex).toBe(0);
    expect(row('/dev')!.tabIndex).toBe(-1);
    first.focus();
    await fireEvent.keyDown(first, { key: 'ArrowDown' });
    await tick();
    expect(document.activeElement).toBe(row('/dev'));
    await fireEvent.keyDown(row('/dev')!, { key: 'ArrowRight' });
    expect(row('/dev')!.getAttribute('aria-expanded')).toBe('true');
    await fireEvent.keyDown(row('/dev')!, { key: 'ArrowRight' });
    await tick();
    expect(document.activeElement).toBe(row('/dev/console'));
    await fireEvent.keyDown(row('/dev/console')!, { key: 'ArrowLeft' });
    await tick();
    expect(document.activeElement).toBe(row('/dev'));
    await fireEvent.keyDown(row('/dev')!, { key: 'ArrowLeft' });
    expect(row('/dev/console')).toBeNull();
    await fireEvent.keyDown(row('/dev')!, { key: 'End' });
    await tick();
    expect(document.activeElement).toBe(row('/init'));
    await fireEvent.keyDown(row('/init')!, { key: 'Home' });
    await tick();
    expect(document.activeElement).toBe(row('/bin'));
    await fireEvent.keyDown(row('/bin')!, { key: 'Enter' });
    expect(row('/bin/busybox')).not.toBeNull();
  });

  it('a filter keeps the matches and opens the folders on the way', async () => {
    render(ImageTree, { entries: image.entries, label: 'Contents', filter: 'console' });
    expect(names()).toEqual(['/dev', '/dev/console']);
  });

  it('says entry types and device nodes in Chinese', async () => {
    i18n.language = 'zh-CN';
    render(ImageTree, { entries: image.entries, label: '内容' });
    await fireEvent.click(row('/dev')!);
    expect(row('/dev')!.textContent).toContain('目录');
    expect(row('/dev/console')!.textContent).toContain('设备节点');
    expect(row('/dev/console')!.textContent).toContain('字符设备 5:1');
  });
});
