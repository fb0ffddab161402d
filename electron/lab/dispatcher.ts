// One place where every API call is validated and turned into a Result, for every transport.
import type { ZodError } from 'zod';
import { apiRequestSchemas, isApiMethod } from '../common/api';
import type { ApiMethod, ApiParsedArgs, ApiResults } from '../common/api';
import type { LabEventName, LabEvents } from '../common/events';
import { toErrorData } from '../common/errors';
import type { Result } from '../common/errors';

/** Who is calling: an Electron window or one WebSocket connection. Events for it go through `emit`. */
export interface ClientContext {
  readonly clientId: string;
  emit<E extends LabEventName>(event: E, payload: LabEvents[E]): void;
}

export type ApiHandlers = {
  [M in ApiMethod]: (args: ApiParsedArgs<M>, client: ClientContext) => Promise<ApiResults[M]> | ApiResults[M];
};

export type Dispatch = (method: unknown, args: unknown, client: ClientContext) => Promise<Result<unknown>>;

function describeZodError(error: ZodError): string {
  return error.issues
    .map((issue) => `${issue.path.length > 0 ? issue.path.join('.') : 'arguments'}: ${issue.message}`)
    .join('; ');
}

export function createDispatcher(handlers: ApiHandlers): Dispatch {
  return async (method, args, client) => {
    if (!isApiMethod(method)) {
      return {
        ok: false,
        error: {
          code: 'UNKNOWN_METHOD',
          message: `Unknown API method ${JSON.stringify(method)}.`,
          hint: 'The UI and the back end are from different kdlab versions; reload the window.',
        },
      };
    }
    const parsed = apiRequestSchemas[method].safeParse(args ?? {});
    if (!parsed.success) {
      return {
        ok: false,
        error: {
          code: 'BAD_REQUEST',
          message: `Invalid arguments for ${method}: ${describeZodError(parsed.error)}`,
          hint: null,
        },
      };
    }
    try {
      const handler = handlers[method] as (a: unknown, c: ClientContext) => unknown;
      const result = await handler(parsed.data, client);
      return { ok: true, result };
    } catch (error) {
      return { ok: false, error: toErrorData(error) };
    }
  };
}
