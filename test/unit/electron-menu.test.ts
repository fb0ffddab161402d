import { writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import type { MenuItemConstructorOptions } from 'electron';
import { beforeEach, describe, expect, it } from 'vitest';
import type { AppCommand } from '../../electron/common/events';
import { installAppMenu, menuTemplate } from '../../electron/main/menu';
import { Menu, dialog, resetElectronMock } from '../mocks/electron';
import { makeTempDir } from '../helpers/temp';

const flat = (items: MenuItemConstructorOptions[]): MenuItemConstructorOptions[] =>
  items.flatMap((i) => [i, ...(Array.isArray(i.submenu) ? flat(i.submenu) : [])]);

beforeEach(() => resetElectronMock());

describe('application menu', () => {
  it('has the usual roles and shortcuts on Linux and macOS', () => {
    const actions = { send: () => undefined, openFile: () => Promise.resolve() };
    const linux = flat(menuTemplate(actions, 'linux'));
    expect(linux.map((i) => i.role).filter(Boolean)).toEqual(
      expect.arrayContaining([
        'quit',
        'editMenu',
        'reload',
        'zoomIn',
        'togglefullscreen',
        'windowMenu',
        'help',
      ]),
    );
    expect(linux.find((i) => i.label === 'Open Console Log…')?.accelerator).toBe('CmdOrCtrl+O');
    expect(linux.filter((i) => /^CmdOrCtrl\+\d$/.test(String(i.accelerator ?? ''))).length).toBe(9);
    const mac = flat(menuTemplate(actions, 'darwin'));
    expect(mac[0]?.role).toBe('appMenu');
    expect(mac.map((i) => i.role)).toContain('close');
  });

  it('opens a log with the native dialog and hands its text to the UI; cancel does nothing', async () => {
    const sent: AppCommand[] = [];
    installAppMenu(
      () => null,
      (c) => sent.push(c),
      'linux',
    );
    const template = (Menu.applicationMenu as { template: MenuItemConstructorOptions[] }).template;
    const open = flat(template).find((i) => i.label === 'Open Console Log…')!;
    const file = join(await makeTempDir(), 'panic.log');
    await writeFile(file, 'Kernel panic - not syncing: Attempted to kill init! exitcode=0x00007f00\n');
    dialog.nextOpen = file;
    (open.click as () => void)();
    await new Promise((r) => setTimeout(r, 50));
    expect(sent).toEqual([
      { command: 'decode-text', text: expect.stringContaining('exitcode=0x00007f00'), path: file },
    ]);
    dialog.nextOpen = null;
    (open.click as () => void)();
    await new Promise((r) => setTimeout(r, 50));
    expect(sent).toHaveLength(1);
    const vms = flat(template).find((i) => i.label === 'VMs')!;
    (vms.click as () => void)();
    expect(sent[1]).toEqual({ command: 'navigate', view: 'vms' });
    const settings = flat(template).find((i) => i.label === 'Settings…')!;
    expect(settings.accelerator).toBe('CmdOrCtrl+,');
    (settings.click as () => void)();
    expect(sent[2]).toEqual({ command: 'navigate', view: 'settings' });
  });
});
