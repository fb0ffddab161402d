// The application menu: the usual roles and shortcuts, native open dialogs for logs, vmcores,
// configs and lab packs, and view shortcuts. Menu actions reach the renderer as `app.command` events
// (the same event map the web mode uses), so the UI handles them in one place.
import { readFile, stat } from 'node:fs/promises';
import type { BrowserWindow, MenuItemConstructorOptions } from 'electron';
import { Menu, dialog } from 'electron';
import type { AppCommand } from '../common/events';

export interface MenuActions {
  send(command: AppCommand): void;
  openFile(kind: 'log' | 'vmcore' | 'config' | 'pack'): Promise<void>;
}

const views = [
  ['home', 'Home'],
  ['recipes', 'Recipes'],
  ['kernels', 'Kernels'],
  ['images', 'Images'],
  ['vms', 'VMs'],
  ['debugger', 'Debugger'],
  ['analyzer', 'Analyzer'],
  ['jobs', 'Jobs'],
  ['terminal', 'Terminal'],
] as const;

/** Pure: the template, tested on its own. */
export function menuTemplate(actions: MenuActions, platform: NodeJS.Platform): MenuItemConstructorOptions[] {
  const mac = platform === 'darwin';
  return [
    ...(mac ? [{ role: 'appMenu' as const }] : []),
    {
      label: '&File',
      submenu: [
        { label: 'Open Console Log…', accelerator: 'CmdOrCtrl+O', click: () => void actions.openFile('log') },
        {
          label: 'Open vmcore…',
          accelerator: 'CmdOrCtrl+Shift+O',
          click: () => void actions.openFile('vmcore'),
        },
        { label: 'Open Kernel .config…', click: () => void actions.openFile('config') },
        { label: 'Import Lab Pack…', click: () => void actions.openFile('pack') },
        { type: 'separator' },
        // Host or Docker executor, the engine and its images: where every step runs.
        {
          label: 'Settings…',
          accelerator: 'CmdOrCtrl+,',
          click: () => actions.send({ command: 'navigate', view: 'settings' }),
        },
        { type: 'separator' },
        mac ? { role: 'close' } : { role: 'quit' },
      ],
    },
    { role: 'editMenu' },
    {
      label: '&View',
      submenu: [
        ...views.map(([view, label], i) => ({
          label,
          accelerator: `CmdOrCtrl+${i + 1}`,
          click: () => actions.send({ command: 'navigate', view }),
        })),
        { type: 'separator' },
        { role: 'reload' },
        { role: 'resetZoom' },
        { role: 'zoomIn' },
        { role: 'zoomOut' },
        { type: 'separator' },
        { role: 'togglefullscreen' },
      ],
    },
    { role: 'windowMenu' },
    {
      role: 'help',
      submenu: [
        { label: 'Recipes and Labs', click: () => actions.send({ command: 'navigate', view: 'recipes' }) },
      ],
    },
  ];
}

const filters = {
  log: [{ name: 'Console logs', extensions: ['log', 'txt', 'dmesg'] }],
  vmcore: [{ name: 'vmcores', extensions: ['*'] }],
  config: [{ name: 'Kernel configs', extensions: ['config', '*'] }],
  pack: [{ name: 'kdlab lab packs', extensions: ['kdlab-pack', 'gz', 'tgz'] }],
};

/** Logs are read here (up to 3 MiB, what the decoder API takes in one message); other files go by path. */
export async function commandForFile(kind: keyof typeof filters, path: string): Promise<AppCommand> {
  if (kind !== 'log') return { command: 'open-file', kind, path };
  const info = await stat(path);
  if (info.size > 3 * 1024 * 1024) return { command: 'open-file', kind, path };
  return { command: 'decode-text', text: await readFile(path, 'utf8'), path };
}

export function installAppMenu(
  getWindow: () => BrowserWindow | null,
  send: (command: AppCommand) => void,
  platform = process.platform,
): void {
  const actions: MenuActions = {
    send,
    async openFile(kind) {
      const win = getWindow();
      const options = { properties: ['openFile' as const], filters: filters[kind] };
      const result = win ? await dialog.showOpenDialog(win, options) : await dialog.showOpenDialog(options);
      const path = result.filePaths[0];
      if (result.canceled || !path) return;
      send(await commandForFile(kind, path));
    },
  };
  Menu.setApplicationMenu(Menu.buildFromTemplate(menuTemplate(actions, platform)));
}
