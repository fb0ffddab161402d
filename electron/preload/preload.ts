// The sandboxed preload (bundled to one file: it may only require 'electron'). It exposes exactly
// one object, `window.lab`, implementing LabTransport; ipcRenderer itself never reaches the page.
import { contextBridge, ipcRenderer } from 'electron';
import { createTransport, labGlobalName } from './transport';

contextBridge.exposeInMainWorld(labGlobalName, createTransport(ipcRenderer));
