// The application menu: the usual roles and shortcuts, native open dialogs for logs, vmcores,
// configs and lab packs, and view shortcuts. Menu actions reach the renderer as `app.command` events
// (the same event map the web mode uses), so the UI handles them in one place.
import { appViews } from '../common/views';
import type { AppView } from '../common/views';
import { readFile, stat } from 'node:fs/promises';
import type { BrowserWindow, MenuItemConstructorOptions } from 'electron';
import { Menu, dialog } from 'electron';
import type { AppCommand } from '../common/events';
import type { UiLanguage } from '../common/job-notices';

export interface MenuActions {
  send(command: AppCommand): void;
  openFile(kind: 'log' | 'vmcore' | 'config' | 'pack'): Promise<void>;
}

// Settings has its own item (File › Settings…), so the View menu lists the others.
const views = appViews.filter((v): v is Exclude<AppView, 'settings'> => v !== 'settings');

/** kdlab's own items in the UI's language (the roles' labels are Electron's, in the OS language). */
const labels = {
  en: {
    file: '&File',
    view: '&View',
    openLog: 'Open Console Log…',
    openVmcore: 'Open vmcore…',
    openConfig: 'Open Kernel .config…',
    importPack: 'Import Lab Pack…',
    settings: 'Settings…',
    recipesHelp: 'Recipes and Labs',
    views: {
      home: 'Home',
      recipes: 'Recipes',
      kernels: 'Kernels',
      images: 'Images',
      vms: 'VMs',
      debugger: 'Debugger',
      analyzer: 'Analyzer',
      decoder: 'Decoder',
      jobs: 'Jobs',
      terminal: 'Terminal',
    },
    filters: { log: 'Console logs', vmcore: 'vmcores', config: 'Kernel configs', pack: 'kdlab lab packs' },
  },
  'zh-CN': {
    file: '文件(&F)',
    view: '视图(&V)',
    openLog: '打开控制台日志…',
    openVmcore: '打开 vmcore…',
    openConfig: '打开内核 .config…',
    importPack: '导入实验包…',
    settings: '设置…',
    recipesHelp: '实验指南',
    views: {
      home: '首页',
      recipes: '实验',
      kernels: '内核',
      images: '镜像',
      vms: '虚拟机',
      debugger: '调试器',
      analyzer: '分析',
      decoder: '解码',
      jobs: '任务',
      terminal: '终端',
    },
    filters: { log: '控制台日志', vmcore: 'vmcore', config: '内核配置', pack: 'kdlab 实验包' },
  },
} satisfies Record<UiLanguage, unknown>;

/** Pure: the template, tested on its own. */
export function menuTemplate(
  actions: MenuActions,
  platform: NodeJS.Platform,
  language: UiLanguage = 'en',
): MenuItemConstructorOptions[] {
  const mac = platform === 'darwin';
  const l = labels[language];
  return [
    ...(mac ? [{ role: 'appMenu' as const }] : []),
    {
      label: l.file,
      submenu: [
        { label: l.openLog, accelerator: 'CmdOrCtrl+O', click: () => void actions.openFile('log') },
        {
          label: l.openVmcore,
          accelerator: 'CmdOrCtrl+Shift+O',
          click: () => void actions.openFile('vmcore'),
        },
        { label: l.openConfig, click: () => void actions.openFile('config') },
        { label: l.importPack, click: () => void actions.openFile('pack') },
        { type: 'separator' },
        // Host or Docker executor, the engine and its images: where every step runs.
        {
          label: l.settings,
          accelerator: 'CmdOrCtrl+,',
          click: () => actions.send({ command: 'navigate', view: 'settings' }),
        },
        { type: 'separator' },
        mac ? { role: 'close' } : { role: 'quit' },
      ],
    },
    { role: 'editMenu' },
    {
      label: l.view,
      submenu: [
        ...views.map((view, i) => ({
          label: l.views[view],
          // Ctrl+1…9: the views after the ninth have none.
          ...(i < 9 ? { accelerator: `CmdOrCtrl+${i + 1}` } : {}),
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
        { label: l.recipesHelp, click: () => actions.send({ command: 'navigate', view: 'recipes' }) },
      ],
    },
  ];
}

const extensions = {
  log: ['log', 'txt', 'dmesg'],
  vmcore: ['*'],
  config: ['config', '*'],
  pack: ['kdlab-pack', 'gz', 'tgz'],
};
type OpenKind = keyof typeof extensions;

function filters(kind: OpenKind, language: UiLanguage): { name: string; extensions: string[] }[] {
  return [{ name: labels[language].filters[kind], extensions: extensions[kind] }];
}

/** Logs are read here (up to 3 MiB, what the decoder API takes in one message); other files go by path. */
export async function commandForFile(kind: OpenKind, path: string): Promise<AppCommand> {
  if (kind !== 'log') return { command: 'open-file', kind, path };
  const info = await stat(path);
  if (info.size > 3 * 1024 * 1024) return { command: 'open-file', kind, path };
  return { command: 'decode-text', text: await readFile(path, 'utf8'), path };
}

/** Rebuilds the menu in another language (the renderer reports its language when it changes). */
export interface AppMenu {
  readonly language: UiLanguage;
  setLanguage(language: UiLanguage): void;
}

export function installAppMenu(
  getWindow: () => BrowserWindow | null,
  send: (command: AppCommand) => void,
  platform = process.platform,
): AppMenu {
  let current: UiLanguage = 'en';
  const actions: MenuActions = {
    send,
    async openFile(kind) {
      const win = getWindow();
      const options = { properties: ['openFile' as const], filters: filters(kind, current) };
      const result = win ? await dialog.showOpenDialog(win, options) : await dialog.showOpenDialog(options);
      const path = result.filePaths[0];
      if (result.canceled || !path) return;
      send(await commandForFile(kind, path));
    },
  };
  const build = (): void =>
    Menu.setApplicationMenu(Menu.buildFromTemplate(menuTemplate(actions, platform, current)));
  build();
  return {
    get language() {
      return current;
    },
    setLanguage(language) {
      if (language === current) return;
      current = language;
      build();
    },
  };
}
