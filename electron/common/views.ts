// The app's views in navigation order: the renderer's routes and the Electron View menu (Ctrl+1…9).
export const appViews = [
  'home',
  'recipes',
  'kernels',
  'images',
  'vms',
  'debugger',
  'analyzer',
  'decoder',
  'jobs',
  'terminal',
  'settings',
] as const;

export type AppView = (typeof appViews)[number];
