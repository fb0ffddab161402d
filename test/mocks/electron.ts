// A typed stand-in for the parts of `electron` kdlab uses. The unit project aliases `electron` to
// this file (the real package would try to download its binary), so code under test and the test
// itself share these objects. They record what was done to them and mimic the Electron behaviour
// our code relies on: ready-only APIs throw before `ready`, webContents is gone after `closed`,
// app.quit() runs before-quit → close windows → will-quit → quit, each step preventable.
import { EventEmitter } from 'node:events';
import type { BrowserWindowConstructorOptions, CustomScheme, NotificationConstructorOptions } from 'electron';

export interface MockEvent {
  defaultPrevented: boolean;
  preventDefault(): void;
}

/** An Electron-style event object carrying extra fields (e.g. `url` for will-navigate). */
export function mockEvent<T extends object>(fields: T = {} as T): T & MockEvent {
  const event = {
    ...fields,
    defaultPrevented: false,
    preventDefault() {
      event.defaultPrevented = true;
    },
  };
  return event;
}

export interface Rect {
  x: number;
  y: number;
  width: number;
  height: number;
}

let nextContentsId = 1;

// ---------------------------------------------------------------- app

class MockApp extends EventEmitter {
  gotLock = true;
  version = '0.1.0';
  appPath = '/opt/kdlab';
  paths: Record<string, string> = { userData: '/tmp/kdlab-mock-user-data' };
  appUserModelId: string | null = null;
  quitRequests = 0;
  quitted = false;
  exitCode: number | null = null;
  #ready = false;
  #quitting = false;
  #readyPromise!: Promise<void>;
  #resolveReady!: () => void;

  constructor() {
    super();
    this.reset();
  }

  reset(): void {
    this.removeAllListeners();
    this.gotLock = true;
    this.version = '0.1.0';
    this.appPath = '/opt/kdlab';
    this.paths = { userData: '/tmp/kdlab-mock-user-data', downloads: '/tmp/kdlab-mock-downloads' };
    this.appUserModelId = null;
    this.quitRequests = 0;
    this.quitted = false;
    this.exitCode = null;
    this.#ready = false;
    this.#quitting = false;
    this.#readyPromise = new Promise((resolve) => {
      this.#resolveReady = resolve;
    });
  }

  /** Test helper: Electron finished initialising. */
  markReady(): void {
    this.#ready = true;
    this.emit('ready', mockEvent());
    this.#resolveReady();
  }

  get isQuitting(): boolean {
    return this.#quitting;
  }

  isReady(): boolean {
    return this.#ready;
  }

  whenReady(): Promise<void> {
    return this.#readyPromise;
  }

  requestSingleInstanceLock(): boolean {
    return this.gotLock;
  }

  getVersion(): string {
    return this.version;
  }

  getAppPath(): string {
    return this.appPath;
  }

  getPath(name: string): string {
    const path = this.paths[name];
    if (path === undefined) throw new Error(`mock app.getPath: no path for ${name}`);
    return path;
  }

  setAppUserModelId(id: string): void {
    this.appUserModelId = id;
  }

  quit(): void {
    this.quitRequests += 1;
    if (this.quitted) return;
    const beforeQuit = mockEvent();
    this.emit('before-quit', beforeQuit);
    if (beforeQuit.defaultPrevented) return;
    this.#quitting = true;
    for (const win of MockBrowserWindow.getAllWindows()) {
      win.close();
      if (!win.isDestroyed()) {
        this.#quitting = false;
        return;
      }
    }
    const willQuit = mockEvent();
    this.emit('will-quit', willQuit);
    if (willQuit.defaultPrevented) {
      this.#quitting = false;
      return;
    }
    this.quitted = true;
    this.emit('quit', mockEvent(), 0);
  }

  exit(code = 0): void {
    this.exitCode = code;
    this.quitted = true;
  }
}

export const app = new MockApp();

function requireReady(api: string): void {
  if (!app.isReady()) throw new Error(`${api} cannot be used before the app is ready`);
}

// ---------------------------------------------------------------- frames and web contents

export class MockWebFrameMain {
  url: string;
  readonly parent: MockWebFrameMain | null;

  constructor(url = '', parent: MockWebFrameMain | null = null) {
    this.url = url;
    this.parent = parent;
  }

  get top(): MockWebFrameMain {
    return this.parent ? this.parent.top : this;
  }
}

export interface WindowOpenDetails {
  url: string;
}
export type WindowOpenHandler = (details: WindowOpenDetails) => { action: 'allow' | 'deny' };

export class MockWebContents extends EventEmitter {
  readonly id = nextContentsId++;
  readonly mainFrame = new MockWebFrameMain();
  readonly sent: { channel: string; args: unknown[] }[] = [];
  windowOpenHandler: WindowOpenHandler | null = null;
  #destroyed = false;

  send(channel: string, ...args: unknown[]): void {
    if (this.#destroyed) throw new Error('Object has been destroyed');
    this.sent.push({ channel, args });
  }

  setWindowOpenHandler(handler: WindowOpenHandler): void {
    this.windowOpenHandler = handler;
  }

  getURL(): string {
    return this.mainFrame.url;
  }

  isDestroyed(): boolean {
    return this.#destroyed;
  }

  destroy(): void {
    if (this.#destroyed) return;
    this.#destroyed = true;
    this.emit('destroyed');
  }

  /** Test helper: what window.open(url) in the page would get back. */
  openWindow(url: string): { action: 'allow' | 'deny' } {
    return this.windowOpenHandler ? this.windowOpenHandler({ url }) : { action: 'allow' };
  }

  /** Test helper: the page tries to navigate; returns true when the navigation was prevented. */
  navigate(url: string, event: 'will-navigate' | 'will-frame-navigate' | 'will-redirect' = 'will-navigate') {
    const details = mockEvent({ url });
    this.emit(event, details, url);
    return details.defaultPrevented;
  }
}

// ---------------------------------------------------------------- windows

const allWindows = new Set<MockBrowserWindow>();

export class MockBrowserWindow extends EventEmitter {
  static readonly instances: MockBrowserWindow[] = [];
  /** Test hook: the load error every window created from now on gets. */
  static loadErrorForNewWindows: Error | null = null;

  static getAllWindows(): MockBrowserWindow[] {
    return [...allWindows];
  }

  static fromWebContents(contents: MockWebContents): MockBrowserWindow | null {
    return [...allWindows].find((win) => win.#contents === contents) ?? null;
  }

  static reset(): void {
    MockBrowserWindow.instances.length = 0;
    MockBrowserWindow.loadErrorForNewWindows = null;
    allWindows.clear();
  }

  readonly options: BrowserWindowConstructorOptions;
  readonly loadedUrls: string[] = [];
  title: string;
  visible: boolean;
  focused = false;
  minimized = false;
  maximized = false;
  bounds: Rect;
  /** Test helper: makes loadURL reject, like a failed navigation. */
  loadError: Error | null = MockBrowserWindow.loadErrorForNewWindows;
  readonly #contents = new MockWebContents();
  #destroyed = false;

  constructor(options: BrowserWindowConstructorOptions = {}) {
    super();
    this.options = options;
    this.title = options.title ?? 'Electron';
    this.visible = options.show ?? true;
    this.bounds = {
      x: options.x ?? 100,
      y: options.y ?? 100,
      width: options.width ?? 800,
      height: options.height ?? 600,
    };
    MockBrowserWindow.instances.push(this);
    allWindows.add(this);
    app.emit('web-contents-created', mockEvent(), this.#contents);
    app.emit('browser-window-created', mockEvent(), this);
  }

  /** Like Electron: reading webContents of a destroyed window throws. */
  get webContents(): MockWebContents {
    if (this.#destroyed) throw new TypeError('Object has been destroyed');
    return this.#contents;
  }

  async loadURL(url: string): Promise<void> {
    this.loadedUrls.push(url);
    this.#contents.mainFrame.url = url;
    if (this.loadError) throw this.loadError;
    await Promise.resolve();
  }

  isDestroyed(): boolean {
    return this.#destroyed;
  }

  show(): void {
    this.visible = true;
  }

  isVisible(): boolean {
    return this.visible;
  }

  focus(): void {
    for (const other of allWindows) if (other !== this && other.focused) other.blur();
    this.focused = true;
    this.emit('focus');
  }

  blur(): void {
    this.focused = false;
    this.emit('blur');
  }

  isFocused(): boolean {
    return this.focused;
  }

  minimize(): void {
    this.minimized = true;
  }

  isMinimized(): boolean {
    return this.minimized;
  }

  restore(): void {
    this.minimized = false;
  }

  /** Like Electron, maximizing also shows a hidden window. */
  maximize(): void {
    this.maximized = true;
    this.visible = true;
  }

  isMaximized(): boolean {
    return this.maximized;
  }

  setTitle(title: string): void {
    this.title = title;
  }

  getTitle(): string {
    return this.title;
  }

  getBounds(): Rect {
    return { ...this.bounds };
  }

  getNormalBounds(): Rect {
    return { ...this.bounds };
  }

  setBounds(bounds: Partial<Rect>): void {
    this.bounds = { ...this.bounds, ...bounds };
  }

  /** Test helper: the page set its <title>; returns true when the change was prevented. */
  pageTitleUpdated(title: string): boolean {
    const event = mockEvent();
    this.emit('page-title-updated', event, title, true);
    if (!event.defaultPrevented) this.title = title;
    return event.defaultPrevented;
  }

  /** Test helper: the page finished its first paint. */
  readyToShow(): void {
    this.emit('ready-to-show', mockEvent());
  }

  close(): void {
    if (this.#destroyed) return;
    const event = mockEvent();
    this.emit('close', event);
    if (event.defaultPrevented) return;
    this.destroy();
  }

  destroy(): void {
    if (this.#destroyed) return;
    this.#destroyed = true;
    this.focused = false;
    allWindows.delete(this);
    this.#contents.destroy();
    this.emit('closed');
    if (allWindows.size === 0 && !app.isQuitting) app.emit('window-all-closed', mockEvent());
  }
}

// ---------------------------------------------------------------- IPC

export interface MockIpcMainInvokeEvent {
  sender: MockWebContents;
  senderFrame: MockWebFrameMain | null;
}

type InvokeHandler = (event: MockIpcMainInvokeEvent, ...args: unknown[]) => unknown;

class MockIpcMain extends EventEmitter {
  readonly handlers = new Map<string, InvokeHandler>();

  handle(channel: string, handler: InvokeHandler): void {
    if (this.handlers.has(channel))
      throw new Error(`Attempted to register a second handler for '${channel}'`);
    this.handlers.set(channel, handler);
  }

  removeHandler(channel: string): void {
    this.handlers.delete(channel);
  }

  /** Test helper: what ipcRenderer.invoke(channel, ...args) from `event.senderFrame` resolves to. */
  async invoke(channel: string, event: MockIpcMainInvokeEvent, ...args: unknown[]): Promise<unknown> {
    const handler = this.handlers.get(channel);
    if (!handler) throw new Error(`No handler registered for '${channel}'`);
    // Like Electron, arguments and results are structured-cloned across the process boundary.
    return structuredClone(await handler(event, ...structuredClone(args)));
  }

  reset(): void {
    this.removeAllListeners();
    this.handlers.clear();
  }
}

export const ipcMain = new MockIpcMain();

export interface MockIpcRendererEvent {
  sender: MockIpcRenderer;
  senderId: number;
}

class MockIpcRenderer extends EventEmitter {
  readonly invocations: { channel: string; args: unknown[] }[] = [];
  /** Test hook: what the main process answers. */
  respond: (channel: string, ...args: unknown[]) => Promise<unknown> = () =>
    Promise.resolve({ ok: true, result: null });

  invoke(channel: string, ...args: unknown[]): Promise<unknown> {
    this.invocations.push({ channel, args });
    return this.respond(channel, ...args);
  }

  /** Test helper: the main process sent `message` on `channel` (webContents.send). */
  deliver(channel: string, ...args: unknown[]): void {
    const event: MockIpcRendererEvent = { sender: this, senderId: 0 };
    this.emit(channel, event, ...args);
  }

  reset(): void {
    this.removeAllListeners();
    this.invocations.length = 0;
    this.respond = () => Promise.resolve({ ok: true, result: null });
  }
}

export const ipcRenderer = new MockIpcRenderer();

export const contextBridge = {
  exposed: new Map<string, unknown>(),
  exposeInMainWorld(key: string, api: unknown): void {
    if (contextBridge.exposed.has(key)) throw new Error(`Cannot bind an API on top of an existing property`);
    contextBridge.exposed.set(key, api);
  },
  reset(): void {
    contextBridge.exposed.clear();
  },
};

// ---------------------------------------------------------------- protocol, session, screen

type ProtocolHandler = (request: Request) => Response | Promise<Response>;

export const protocol = {
  privilegedSchemes: [] as CustomScheme[],
  handlers: new Map<string, ProtocolHandler>(),
  registerSchemesAsPrivileged(schemes: CustomScheme[]): void {
    if (app.isReady()) throw new Error('protocol.registerSchemesAsPrivileged must be called before ready');
    protocol.privilegedSchemes.push(...schemes);
  },
  handle(scheme: string, handler: ProtocolHandler): void {
    requireReady('protocol.handle');
    if (protocol.handlers.has(scheme)) throw new Error(`The scheme ${scheme} is already handled`);
    protocol.handlers.set(scheme, handler);
  },
  /** Test helper: a request the renderer makes to `url`. */
  async fetch(url: string, init?: RequestInit): Promise<Response> {
    const scheme = new URL(url).protocol.slice(0, -1);
    const handler = protocol.handlers.get(scheme);
    if (!handler) throw new Error(`net::ERR_UNKNOWN_URL_SCHEME (${scheme})`);
    return handler(new Request(url, init));
  },
  reset(): void {
    protocol.privilegedSchemes.length = 0;
    protocol.handlers.clear();
  },
};

export type PermissionRequestHandler = (
  contents: MockWebContents,
  permission: string,
  callback: (granted: boolean) => void,
  details: { requestingUrl: string; isMainFrame: boolean },
) => void;
export type PermissionCheckHandler = (
  contents: MockWebContents | null,
  permission: string,
  requestingOrigin: string,
  details: { requestingUrl?: string; isMainFrame: boolean },
) => boolean;

class MockSession {
  permissionRequestHandler: PermissionRequestHandler | null = null;
  permissionCheckHandler: PermissionCheckHandler | null = null;

  setPermissionRequestHandler(handler: PermissionRequestHandler | null): void {
    this.permissionRequestHandler = handler;
  }

  setPermissionCheckHandler(handler: PermissionCheckHandler | null): void {
    this.permissionCheckHandler = handler;
  }

  /** Test helper: a page at `requestingUrl` asks for `permission`; resolves to the decision. */
  requestPermission(permission: string, requestingUrl: string): Promise<boolean> {
    const handler = this.permissionRequestHandler;
    if (!handler) return Promise.resolve(true); // Electron's default: granted
    return new Promise((resolve) =>
      handler(new MockWebContents(), permission, resolve, { requestingUrl, isMainFrame: true }),
    );
  }

  /** Test helper: a synchronous permission check from `origin`. */
  checkPermission(permission: string, origin: string): boolean {
    const handler = this.permissionCheckHandler;
    return handler ? handler(null, permission, origin, { isMainFrame: true }) : true;
  }
}

const defaultSession = new MockSession();

export const session = {
  get defaultSession(): MockSession {
    requireReady('session.defaultSession');
    return defaultSession;
  },
  reset(): void {
    defaultSession.permissionRequestHandler = null;
    defaultSession.permissionCheckHandler = null;
  },
};

export const screen = {
  workAreas: [{ x: 0, y: 0, width: 1920, height: 1080 }] as Rect[],
  getAllDisplays(): { id: number; workArea: Rect; bounds: Rect }[] {
    requireReady('screen');
    return screen.workAreas.map((workArea, id) => ({ id, workArea, bounds: workArea }));
  },
  reset(): void {
    screen.workAreas = [{ x: 0, y: 0, width: 1920, height: 1080 }];
  },
};

// ---------------------------------------------------------------- shell, dialog, notifications

export const shell = {
  opened: [] as string[],
  openExternal(url: string): Promise<void> {
    shell.opened.push(url);
    return Promise.resolve();
  },
  reset(): void {
    shell.opened.length = 0;
  },
};

export const Menu = {
  applicationMenu: null as unknown,
  buildFromTemplate(template: unknown[]): { template: unknown[] } {
    return { template };
  },
  setApplicationMenu(menu: unknown): void {
    Menu.applicationMenu = menu;
  },
};

export const dialog = {
  errorBoxes: [] as { title: string; content: string }[],
  /** The file the next open dialog "chooses" (null: the user cancels). */
  nextOpen: null as string | null,
  openDialogs: [] as unknown[],
  /** The path the next save dialog "chooses" (null: the user cancels). */
  nextSave: null as string | null,
  saveDialogs: [] as unknown[],
  showSaveDialog(...args: unknown[]): Promise<{ canceled: boolean; filePath: string }> {
    dialog.saveDialogs.push(args.at(-1));
    const chosen = dialog.nextSave;
    return Promise.resolve({ canceled: chosen === null, filePath: chosen ?? '' });
  },
  showOpenDialog(...args: unknown[]): Promise<{ canceled: boolean; filePaths: string[] }> {
    dialog.openDialogs.push(args.at(-1));
    const chosen = dialog.nextOpen;
    return Promise.resolve({ canceled: chosen === null, filePaths: chosen ? [chosen] : [] });
  },
  showErrorBox(title: string, content: string): void {
    dialog.errorBoxes.push({ title, content });
  },
  reset(): void {
    dialog.errorBoxes.length = 0;
    dialog.nextOpen = null;
    dialog.openDialogs.length = 0;
    dialog.nextSave = null;
    dialog.saveDialogs.length = 0;
  },
};

export const webUtils = {
  /** Test hook: the paths of Files "dropped" in the page (what Electron knows from the drag). */
  paths: new WeakMap<object, string>(),
  getPathForFile(file: object): string {
    return webUtils.paths.get(file) ?? '';
  },
};

export class MockNotification extends EventEmitter {
  static supported = true;
  static readonly instances: MockNotification[] = [];

  static isSupported(): boolean {
    return MockNotification.supported;
  }

  static reset(): void {
    MockNotification.supported = true;
    MockNotification.instances.length = 0;
  }

  readonly options: NotificationConstructorOptions;
  shown = false;

  constructor(options: NotificationConstructorOptions = {}) {
    super();
    this.options = options;
    MockNotification.instances.push(this);
  }

  show(): void {
    this.shown = true;
    this.emit('show', mockEvent());
  }

  close(): void {
    this.emit('close', mockEvent());
  }

  /** Test helper: the user clicked it. */
  click(): void {
    this.emit('click', mockEvent());
  }
}

export { MockBrowserWindow as BrowserWindow, MockNotification as Notification };

/** Back to a freshly started, not yet ready Electron. Call in beforeEach. */
export function resetElectronMock(): void {
  app.reset();
  MockBrowserWindow.reset();
  ipcMain.reset();
  ipcRenderer.reset();
  contextBridge.reset();
  protocol.reset();
  session.reset();
  screen.reset();
  shell.reset();
  dialog.reset();
  MockNotification.reset();
}

export default {
  Menu,
  app,
  BrowserWindow: MockBrowserWindow,
  contextBridge,
  dialog,
  ipcMain,
  ipcRenderer,
  Notification: MockNotification,
  protocol,
  screen,
  session,
  shell,
  webUtils,
};
