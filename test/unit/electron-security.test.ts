import { beforeEach, describe, expect, it, vi } from 'vitest';
import {
  allowedPermissions,
  installPermissionHandlers,
  installSecurityHandlers,
  isAllowedNavigation,
  isPermissionAllowed,
  windowOpenDecision,
} from '../../electron/main/security';
import {
  BrowserWindow,
  MockWebContents,
  app,
  mockEvent,
  resetElectronMock,
  session,
  shell,
} from '../mocks/electron';

beforeEach(() => {
  resetElectronMock();
  vi.restoreAllMocks();
});

/** A window created after the handlers are installed, as in the app. */
function hardenedContents(): MockWebContents {
  installSecurityHandlers();
  return new BrowserWindow().webContents;
}

describe('navigation', () => {
  it.each([
    ['lab://app/index.html', true],
    ['lab://app/', true],
    ['lab://app/index.html#/jobs', true],
    ['https://evil.example/', false],
    ['http://localhost:5173/', false],
    ['file:///etc/passwd', false],
    ['lab://evil/index.html', false],
    ['lab://app:8080/index.html', false],
    ['lab://user:pw@app/index.html', false],
    ['javascript:alert(1)', false],
    ['about:blank', false],
    ['not a url', false],
  ])('isAllowedNavigation(%s) is %s', (url, allowed) => {
    expect(isAllowedNavigation(url)).toBe(allowed);
  });

  it('prevents will-navigate, will-frame-navigate and will-redirect to https://evil.example', () => {
    const contents = hardenedContents();
    expect(contents.navigate('https://evil.example/', 'will-navigate')).toBe(true);
    expect(contents.navigate('https://evil.example/', 'will-frame-navigate')).toBe(true);
    expect(contents.navigate('https://evil.example/', 'will-redirect')).toBe(true);
    expect(shell.opened).toEqual([]);
  });

  it('lets the app navigate within lab://app', () => {
    const contents = hardenedContents();
    expect(contents.navigate('lab://app/index.html')).toBe(false);
  });

  it('refuses to attach a <webview>', () => {
    const contents = hardenedContents();
    const event = mockEvent();
    contents.emit('will-attach-webview', event, {}, {});
    expect(event.defaultPrevented).toBe(true);
  });
});

describe('window.open', () => {
  it('always denies a new window', () => {
    const contents = hardenedContents();
    for (const url of ['https://kernel.org/', 'lab://app/index.html', 'about:blank']) {
      expect(contents.openWindow(url)).toEqual({ action: 'deny' });
    }
  });

  it('hands https URLs to shell.openExternal', () => {
    const contents = hardenedContents();
    contents.openWindow('https://www.kernel.org/doc/html/latest/');
    expect(shell.opened).toEqual(['https://www.kernel.org/doc/html/latest/']);
  });

  it.each([
    'http://example.com/',
    'file:///etc/passwd',
    'javascript:alert(1)',
    'data:text/html,<script>alert(1)</script>',
    'smb://server/share',
    'https://user:secret@example.com/',
    'lab://app/index.html',
    '',
  ])('does not open %j externally', (url) => {
    const contents = hardenedContents();
    expect(contents.openWindow(url)).toEqual({ action: 'deny' });
    expect(shell.opened).toEqual([]);
    expect(windowOpenDecision(url).external).toBeNull();
  });

  it('logs, not crashes, when the browser cannot be started', async () => {
    const warn = vi.spyOn(console, 'warn').mockImplementation(() => undefined);
    vi.spyOn(shell, 'openExternal').mockRejectedValue(new Error('xdg-open not found'));
    const contents = hardenedContents();
    expect(contents.openWindow('https://kernel.org/')).toEqual({ action: 'deny' });
    await vi.waitFor(() => expect(warn).toHaveBeenCalledWith(expect.stringContaining('xdg-open not found')));
  });

  it('hardens every web contents, not only the main window', () => {
    installSecurityHandlers();
    const other = new MockWebContents();
    app.emit('web-contents-created', mockEvent(), other);
    expect(other.openWindow('https://kernel.org/')).toEqual({ action: 'deny' });
    expect(other.navigate('https://evil.example/')).toBe(true);
  });
});

describe('permissions', () => {
  it('allows only clipboard-sanitized-write and notifications', () => {
    expect([...allowedPermissions].sort()).toEqual(['clipboard-sanitized-write', 'notifications']);
  });

  it.each([
    ['clipboard-sanitized-write', 'lab://app/index.html', true],
    ['notifications', 'lab://app/', true],
    ['notifications', 'lab://app', true],
    ['notifications', 'https://evil.example/', false],
    ['clipboard-read', 'lab://app/index.html', false],
    ['media', 'lab://app/index.html', false],
    ['geolocation', 'lab://app/index.html', false],
    ['openExternal', 'lab://app/index.html', false],
    ['fullscreen', 'lab://app/index.html', false],
  ])('%s from %s: %s', (permission, url, allowed) => {
    expect(isPermissionAllowed(permission, url)).toBe(allowed);
  });

  it('installs request and check handlers that apply the same rule', async () => {
    app.markReady();
    installPermissionHandlers(session.defaultSession);
    const ses = session.defaultSession;
    expect(await ses.requestPermission('notifications', 'lab://app/index.html')).toBe(true);
    expect(await ses.requestPermission('media', 'lab://app/index.html')).toBe(false);
    expect(await ses.requestPermission('notifications', 'https://evil.example/')).toBe(false);
    expect(ses.checkPermission('clipboard-sanitized-write', 'lab://app')).toBe(true);
    expect(ses.checkPermission('clipboard-read', 'lab://app')).toBe(false);
    expect(ses.checkPermission('notifications', 'https://evil.example')).toBe(false);
  });
});
