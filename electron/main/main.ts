// Electron main process entry (bundled to dist/electron/main.cjs; `electron` stays external).
import { createLabBackend } from '../lab/lab-backend';
import { startApp } from './app';

startApp({ createBackend: createLabBackend });
