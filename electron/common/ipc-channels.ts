// Electron IPC channel names, in a file of their own so the sandboxed preload bundles no zod.

/** Electron IPC channels: one for requests, one for pushed events. */
export const ipcChannels = { invoke: 'lab:invoke', event: 'lab:event' } as const;
