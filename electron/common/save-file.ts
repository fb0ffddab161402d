// "Save a file": what the renderer hands over (a suggested name, the text, its format) and what it
// gets back. In Electron the user picks the path in the native dialog and the main process writes
// the file; in the web mode the browser saves it (renderer/src/lib/save-file.ts). Types only, so
// the sandboxed preload bundles no zod.

export const saveFormats = {
  markdown: { mime: 'text/markdown', extension: 'md', label: { en: 'Markdown', 'zh-CN': 'Markdown' } },
  html: { mime: 'text/html', extension: 'html', label: { en: 'HTML page', 'zh-CN': 'HTML 页面' } },
  log: { mime: 'text/plain', extension: 'log', label: { en: 'Log', 'zh-CN': '日志' } },
  report: {
    mime: 'application/json',
    extension: 'kdlab-report',
    label: { en: 'kdlab progress report', 'zh-CN': 'kdlab 进度报告' },
  },
} as const;
export type SaveFormat = keyof typeof saveFormats;

/** Largest text saved in one piece (a job log or console text is far below it). */
export const maxSaveChars = 64 * 1024 * 1024;

export interface SaveFileRequest {
  /** A file name only (no folder): the dialog starts in Downloads with it. */
  name: string;
  content: string;
  format: SaveFormat;
}

/** `saved: false` when the user cancelled; `path` is where it went (null in the browser: it does not tell). */
export interface SaveFileResult {
  saved: boolean;
  path: string | null;
}
