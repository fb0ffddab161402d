// "Save a file" for every export button. Electron: the native Save dialog (the main process writes
// the path the user chose). Web mode: the browser's save picker where it has one (File System Access
// API), else a download of a blob — the browser decides where it goes.
import { LabError } from '../../../electron/common/errors';
import { saveFormats } from '../../../electron/common/save-file';
import type { SaveFileRequest, SaveFileResult } from '../../../electron/common/save-file';
import { i18n } from './i18n/i18n.svelte';

interface WritableFile {
  write(data: string): Promise<void>;
  close(): Promise<void>;
}
interface SavePickerWindow {
  showSaveFilePicker?(options: {
    suggestedName: string;
    types: { description: string; accept: Record<string, string[]> }[];
  }): Promise<{ name: string; createWritable(): Promise<WritableFile> }>;
}

function download(request: SaveFileRequest): SaveFileResult {
  const url = URL.createObjectURL(new Blob([request.content], { type: saveFormats[request.format].mime }));
  const a = document.createElement('a');
  a.href = url;
  a.download = request.name;
  a.click();
  // Revoked later: revoking at once can cancel the download before the browser read the blob.
  setTimeout(() => URL.revokeObjectURL(url), 10_000);
  return { saved: true, path: null };
}

/** Saves `request.content`; `saved: false` when the user cancelled. Throws LabError when writing failed. */
export async function saveFile(request: SaveFileRequest): Promise<SaveFileResult> {
  const bridge = globalThis.window?.lab;
  if (bridge?.saveFile) {
    const result = await bridge.saveFile(request);
    if (!result.ok) throw new LabError(result.error.code, result.error.message, result.error.hint);
    return result.result;
  }
  const pickerWindow = globalThis.window as SavePickerWindow | undefined;
  if (typeof pickerWindow?.showSaveFilePicker === 'function') {
    const format = saveFormats[request.format];
    let handle: Awaited<ReturnType<NonNullable<SavePickerWindow['showSaveFilePicker']>>>;
    try {
      handle = await pickerWindow.showSaveFilePicker({
        suggestedName: request.name,
        types: [
          { description: format.label[i18n.language], accept: { [format.mime]: [`.${format.extension}`] } },
        ],
      });
    } catch (error) {
      if (error instanceof DOMException && error.name === 'AbortError') return { saved: false, path: null };
      // No user gesture left (it expired while the text was fetched), or the picker is blocked.
      return download(request);
    }
    // The browser writes to a temporary file and swaps it in on close.
    const writable = await handle.createWritable();
    await writable.write(request.content);
    await writable.close();
    return { saved: true, path: handle.name };
  }
  return download(request);
}
