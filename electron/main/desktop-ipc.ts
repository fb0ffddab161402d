// The two requests the main process answers itself: "save a file" (the native save dialog, then an
// atomic write to the path the user chose there — the page never names a path) and "the UI's
// language is now X" (the menu is rebuilt, notifications follow). Same checks as the API channel:
// the sender first, then the arguments (zod), and every outcome goes back as Result data.
import { basename, join } from 'node:path';
import type { BrowserWindow, SaveDialogOptions } from 'electron';
import { dialog } from 'electron';
import { z } from 'zod';
import { ipcChannels } from '../common/ipc-channels';
import { LabError, toErrorData } from '../common/errors';
import type { Result } from '../common/errors';
import { uiLanguages } from '../common/job-notices';
import type { UiLanguage } from '../common/job-notices';
import { maxSaveChars, saveFormats } from '../common/save-file';
import type { SaveFileResult, SaveFormat } from '../common/save-file';
import { writeFileAtomic } from '../lab/workspace';
import { senderProblem } from './ipc';
import type { IpcApiOptions, IpcMainLike } from './ipc';

export const saveFileRequest = z
  .object({
    // A bare file name: no folder, no dot-files, nothing the dialog would read as a path.
    name: z
      .string()
      .min(1)
      .max(200)
      .regex(/^[^/\\\0]+$/, 'a file name without a folder')
      .refine((name) => !name.startsWith('.'), 'a file name that does not start with a dot'),
    content: z.string().max(maxSaveChars),
    format: z.enum(Object.keys(saveFormats) as [SaveFormat, ...SaveFormat[]]),
  })
  .strict();

export const setLanguageRequest = z.enum(uiLanguages);

export interface DesktopIpcOptions extends IpcApiOptions {
  /** The window the dialog belongs to (modal to it), or null. */
  getWindow(): BrowserWindow | null;
  /** Where the dialog starts: the user's Downloads folder. */
  defaultFolder(): string;
  getLanguage(): UiLanguage;
  setLanguage(language: UiLanguage): void;
}

const allFiles = { en: 'All files', 'zh-CN': '所有文件' } as const;

/** Pure: the dialog's options for a request. */
export function saveDialogOptions(
  request: z.output<typeof saveFileRequest>,
  folder: string,
  language: UiLanguage,
): SaveDialogOptions {
  const format = saveFormats[request.format];
  return {
    defaultPath: join(folder, basename(request.name)),
    filters: [
      { name: format.label[language], extensions: [format.extension] },
      { name: allFiles[language], extensions: ['*'] },
    ],
    properties: ['showOverwriteConfirmation', 'createDirectory'],
  };
}

function invalid(message: string): Result<never> {
  return { ok: false, error: { code: 'BAD_REQUEST', message, hint: null } };
}

/** Registers both channels; returns the unregister function. */
export function registerDesktopIpc(ipcMain: IpcMainLike, options: DesktopIpcOptions): () => void {
  ipcMain.handle(ipcChannels.saveFile, async (event, raw): Promise<Result<SaveFileResult>> => {
    const problem = senderProblem(event, options);
    if (problem !== null)
      return { ok: false, error: { code: 'FORBIDDEN', message: `Refused to save: ${problem}.`, hint: null } };
    const parsed = saveFileRequest.safeParse(raw);
    if (!parsed.success) return invalid(`Cannot save: ${parsed.error.issues[0]?.message ?? 'bad request'}.`);
    try {
      const dialogOptions = saveDialogOptions(parsed.data, options.defaultFolder(), options.getLanguage());
      const win = options.getWindow();
      const choice = win
        ? await dialog.showSaveDialog(win, dialogOptions)
        : await dialog.showSaveDialog(dialogOptions);
      if (choice.canceled || !choice.filePath) return { ok: true, result: { saved: false, path: null } };
      const path = choice.filePath;
      await writeFileAtomic(path, parsed.data.content).catch((error: unknown) => {
        const reason = error instanceof Error ? error.message : String(error);
        throw new LabError(
          'IO',
          `Could not write ${path}: ${reason}`,
          'Choose a folder you can write to, with free space.',
        );
      });
      return { ok: true, result: { saved: true, path } };
    } catch (error) {
      return { ok: false, error: toErrorData(error) };
    }
  });
  ipcMain.handle(ipcChannels.setLanguage, (event, raw): Promise<Result<null>> => {
    const problem = senderProblem(event, options);
    if (problem !== null)
      return Promise.resolve({
        ok: false,
        error: { code: 'FORBIDDEN', message: `Refused a language change: ${problem}.`, hint: null },
      });
    const parsed = setLanguageRequest.safeParse(raw);
    if (!parsed.success) return Promise.resolve(invalid(`Unknown UI language: ${String(raw)}.`));
    options.setLanguage(parsed.data);
    return Promise.resolve({ ok: true, result: null });
  });
  return () => {
    ipcMain.removeHandler(ipcChannels.saveFile);
    ipcMain.removeHandler(ipcChannels.setLanguage);
  };
}
