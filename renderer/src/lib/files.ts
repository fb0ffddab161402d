// Getting a File the page holds (dropped, or from a file input) to the back end: Electron's preload
// says where it is on disk; in the web mode it is uploaded into the workspace's inbox first.
import { LabError } from '../../../electron/common/errors';
import type { Result } from '../../../electron/common/errors';
import { uploadPath } from '../../../electron/common/ws-protocol';
import { i18n } from './i18n/i18n.svelte';

/** A file the back end can open: its host path and the name the user knows it by. */
export interface HostFile {
  path: string;
  name: string;
}

export async function toHostFile(file: File): Promise<HostFile> {
  const electronPath = window.lab?.pathForFile?.(file);
  if (window.lab) {
    if (!electronPath)
      throw new LabError(
        'BAD_REQUEST',
        i18n.t('files.notOnDisk', { name: file.name }),
        i18n.t('files.notOnDiskHint'),
      );
    return { path: electronPath, name: file.name };
  }
  const response = await fetch(`${uploadPath}?name=${encodeURIComponent(file.name || 'upload')}`, {
    method: 'POST',
    body: file,
    credentials: 'same-origin',
  }).catch((error: unknown) => {
    throw new LabError(
      'UNAVAILABLE',
      i18n.t('files.uploadFailed', { name: file.name, error: String(error) }),
      i18n.t('files.uploadFailedHint'),
    );
  });
  const result = (await response.json().catch(() => null)) as Result<{ path: string }> | null;
  if (!result)
    throw new LabError(
      'IO',
      i18n.t('files.uploadHttp', { name: file.name, status: response.status }),
      i18n.t('files.uploadHttpHint'),
    );
  if (!result.ok) throw LabError.fromData(result.error);
  return { path: result.result.path, name: file.name };
}

/**
 * A console log is read right here (the decoder takes text, no upload needed). Anything with a
 * vmcore/ELF/gzip signature, NUL bytes, a JSON start or kconfig lines is left to the back end.
 */
export async function looksLikeLog(file: File): Promise<boolean> {
  if (file.size > 3 * 1024 * 1024) return false;
  const head = new Uint8Array(await file.slice(0, 64 * 1024).arrayBuffer());
  if (head.includes(0) || (head[0] === 0x1f && head[1] === 0x8b)) return false;
  const text = new TextDecoder().decode(head);
  if (/^\s*\{/.test(text) || text.startsWith('\x7fELF') || /^(KDUMP|makedump)/.test(text)) return false;
  return !/^(CONFIG_[A-Za-z0-9_]+=|# CONFIG_[A-Za-z0-9_]+ is not set)/m.test(text);
}

export function asErrorData(e: unknown) {
  return e instanceof LabError ? e.toData() : { code: 'INTERNAL' as const, message: String(e), hint: null };
}
