// Frames of the web mode's WebSocket: requests carry an id, responses echo it, events have none.
import type { ApiMethod } from './api';
import type { Result } from './errors';
import type { LabEventMessage } from './events';

export interface WsRequestFrame {
  type: 'request';
  id: number;
  method: ApiMethod;
  args: unknown;
}

export type WsResponseFrame = { type: 'response'; id: number } & Result<unknown>;

export type WsEventFrame = { type: 'event' } & LabEventMessage;

export type WsServerFrame = WsResponseFrame | WsEventFrame;

export const wsPath = '/api';
export const tokenCookieName = 'kdlab_token';
export const tokenQueryName = 'token';
/** POST a file here (web mode) to hand it to the back end; see electron/server/upload.ts. */
export const uploadPath = '/upload';
