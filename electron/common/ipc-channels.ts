// Electron IPC channel names, in a file of their own so the sandboxed preload bundles no zod.

/**
 * Electron IPC channels: one for requests, one for pushed events, and two desktop-only requests the
 * main process answers itself (a native save dialog; the UI's language for the menu and notifications).
 */
export const ipcChannels = {
  invoke: 'lab:invoke',
  event: 'lab:event',
  saveFile: 'lab:save-file',
  setLanguage: 'lab:set-language',
} as const;
