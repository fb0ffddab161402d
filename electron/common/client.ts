// Wraps a raw transport into the typed LabApi: results unwrapped, error data rebuilt as LabError.
import type { ApiArgs, ApiMethod, ApiResults, LabApi, LabTransport } from './api';
import { LabError } from './errors';

export function createLabApi(transport: LabTransport): LabApi {
  return {
    async invoke<M extends ApiMethod>(method: M, args: ApiArgs<M>): Promise<ApiResults[M]> {
      const response = await transport.invoke(method, args);
      if (!response.ok) throw LabError.fromData(response.error);
      return response.result as ApiResults[M];
    },
    on: (event, listener) => transport.on(event, listener),
  };
}
