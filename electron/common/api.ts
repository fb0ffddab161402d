// The one API contract: request schemas (zod), result types, and the LabApi interface
// implemented by the Electron preload bridge and by the web mode's WebSocket client.
import { z } from 'zod';
import type { LabEventName, LabEvents } from './events';
import type { Result } from './errors';
import type { AppInfo, DoctorReport, JobInfo, JobLogChunk, TerminalInfo } from './types';

const id = z.string().min(1).max(100);
const cols = z.number().int().min(2).max(1000);
const rows = z.number().int().min(1).max(500);
const empty = z.object({}).strict();

export const apiRequestSchemas = {
  'app.info': empty,
  'doctor.run': z.object({ kvmProbe: z.boolean().default(true) }).strict(),
  'doctor.last': empty,
  'jobs.list': empty,
  'jobs.cancel': z.object({ id }).strict(),
  'jobs.log': z.object({ id, offset: z.number().int().min(0).default(0) }).strict(),
  'terminal.open': z.object({ kind: z.literal('shell'), cols, rows }).strict(),
  'terminal.list': empty,
  'terminal.write': z.object({ id, data: z.string().max(1_000_000) }).strict(),
  'terminal.resize': z.object({ id, cols, rows }).strict(),
  'terminal.ack': z.object({ id, chars: z.number().int().min(0).max(100_000_000) }).strict(),
  'terminal.close': z.object({ id }).strict(),
  'shell.openExternal': z.object({ url: z.string().max(2048) }).strict(),
} as const;

export type ApiMethod = keyof typeof apiRequestSchemas;
export const apiMethods = Object.keys(apiRequestSchemas) as ApiMethod[];

/** What a caller passes (defaults may be omitted). */
export type ApiArgs<M extends ApiMethod> = z.input<(typeof apiRequestSchemas)[M]>;
/** What a handler receives after validation. */
export type ApiParsedArgs<M extends ApiMethod> = z.output<(typeof apiRequestSchemas)[M]>;

export interface ApiResults {
  'app.info': AppInfo;
  'doctor.run': DoctorReport;
  'doctor.last': DoctorReport | null;
  'jobs.list': JobInfo[];
  'jobs.cancel': JobInfo;
  'jobs.log': JobLogChunk;
  'terminal.open': TerminalInfo;
  'terminal.list': TerminalInfo[];
  'terminal.write': null;
  'terminal.resize': null;
  'terminal.ack': null;
  'terminal.close': null;
  /** `opened: false` tells a browser client to open the (validated) URL itself. */
  'shell.openExternal': { opened: boolean; url: string };
}

export function isApiMethod(value: unknown): value is ApiMethod {
  return typeof value === 'string' && Object.hasOwn(apiRequestSchemas, value);
}

/** The raw bridge: errors come back as data. Exposed as `window.lab` by the preload. */
export interface LabTransport {
  invoke(method: ApiMethod, args: unknown): Promise<Result<unknown>>;
  on<E extends LabEventName>(event: E, listener: (payload: LabEvents[E]) => void): () => void;
}

/** The typed API the renderer and the CLI use; failures are thrown as LabError. */
export interface LabApi {
  invoke<M extends ApiMethod>(method: M, args: ApiArgs<M>): Promise<ApiResults[M]>;
  on<E extends LabEventName>(event: E, listener: (payload: LabEvents[E]) => void): () => void;
}

/** External links: only https, no credentials in the URL. */
export function validateExternalUrl(raw: string): URL | null {
  let url: URL;
  try {
    url = new URL(raw);
  } catch {
    return null;
  }
  if (url.protocol !== 'https:' || url.username !== '' || url.password !== '') return null;
  return url;
}

export { ipcChannels } from './ipc-channels';
