// The sandboxed preload (bundled to one file: it may only require 'electron'). It exposes exactly
// one object, `window.lab`, implementing LabTransport; ipcRenderer itself never reaches the page.
import { contextBridge, ipcRenderer, webUtils } from 'electron';
import { createTransport, labGlobalName } from './transport';

// webUtils.getPathForFile replaces File.path (removed in Electron 32) for dropped files.
contextBridge.exposeInMainWorld(
  labGlobalName,
  createTransport(ipcRenderer, (file) => webUtils.getPathForFile(file)),
);
