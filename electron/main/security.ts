// Electron security checklist, in one place: no navigation away from lab://app, no new windows
// (https links go to the system browser), no <webview>, and only the permissions the UI uses.
import { app, shell } from 'electron';
import type { WebContents } from 'electron';
import { validateExternalUrl } from '../common/api';
import { isLabAppUrl } from './protocol';

/** The only permissions the UI needs: copy from a terminal, and desktop notifications. */
export const allowedPermissions: ReadonlySet<string> = new Set([
  'clipboard-sanitized-write',
  'notifications',
]);

export function isAllowedNavigation(url: string): boolean {
  return isLabAppUrl(url);
}

/** Permission requests and checks: allowed only for the listed permissions, asked by lab://app. */
export function isPermissionAllowed(permission: string, requestingUrl: string | undefined): boolean {
  return allowedPermissions.has(permission) && requestingUrl !== undefined && isLabAppUrl(requestingUrl);
}

/** window.open / target=_blank: never a new Electron window; a valid https URL opens in the browser. */
export function windowOpenDecision(url: string): { action: 'deny'; external: URL | null } {
  return { action: 'deny', external: validateExternalUrl(url) };
}

export interface HardenOptions {
  openExternal(url: URL): Promise<void>;
}

export function hardenWebContents(contents: WebContents, options: HardenOptions): void {
  const guard = (details: { url: string; preventDefault(): void }): void => {
    if (!isAllowedNavigation(details.url)) details.preventDefault();
  };
  contents.on('will-navigate', guard);
  contents.on('will-frame-navigate', guard);
  contents.on('will-redirect', guard);
  contents.on('will-attach-webview', (event) => event.preventDefault());
  contents.setWindowOpenHandler(({ url }) => {
    const decision = windowOpenDecision(url);
    if (decision.external) {
      options.openExternal(decision.external).catch((error: unknown) => {
        console.warn(`kdlab: could not open ${decision.external?.href}: ${(error as Error).message}`);
      });
    }
    return { action: decision.action };
  });
}

/** The parts of Electron's Session the permission handlers use. */
export interface PermissionSession {
  setPermissionRequestHandler(
    handler: (
      contents: unknown,
      permission: string,
      callback: (granted: boolean) => void,
      details: { requestingUrl?: string },
    ) => void,
  ): void;
  setPermissionCheckHandler(
    handler: (contents: unknown, permission: string, requestingOrigin: string) => boolean,
  ): void;
}

export function installPermissionHandlers(session: PermissionSession): void {
  session.setPermissionRequestHandler((_contents, permission, callback, details) => {
    callback(isPermissionAllowed(permission, details.requestingUrl));
  });
  session.setPermissionCheckHandler((_contents, permission, requestingOrigin) =>
    isPermissionAllowed(permission, requestingOrigin),
  );
}

/** Hardens every web contents as it is created (before it loads anything). */
export function installSecurityHandlers(
  options: HardenOptions = { openExternal: (url) => shell.openExternal(url.href) },
): void {
  app.on('web-contents-created', (_event, contents) => hardenWebContents(contents, options));
}
