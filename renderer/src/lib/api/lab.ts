// Picks the transport: Electron's preload bridge (window.lab) or the web mode's WebSocket.
import type { LabApi, LabTransport } from '../../../../electron/common/api';
import { createLabApi } from '../../../../electron/common/client';
import { wsPath } from '../../../../electron/common/ws-protocol';
import { WebSocketTransport } from './ws-transport';
import type { ConnectionStatus } from './ws-transport';

declare global {
  interface Window {
    lab?: LabTransport;
  }
}

export interface LabConnection {
  api: LabApi;
  mode: 'electron' | 'web';
  onStatus(listener: (status: ConnectionStatus) => void): () => void;
}

export function connectLab(): LabConnection {
  if (window.lab) {
    const transport = window.lab;
    return {
      api: createLabApi(transport),
      mode: 'electron',
      onStatus: (listener) => {
        listener('open');
        return () => undefined;
      },
    };
  }
  const scheme = location.protocol === 'https:' ? 'wss:' : 'ws:';
  const transport = new WebSocketTransport(`${scheme}//${location.host}${wsPath}`);
  return { api: createLabApi(transport), mode: 'web', onStatus: (listener) => transport.onStatus(listener) };
}
