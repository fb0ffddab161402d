// What the UI is to the back end, for integration tests that go through the API: a client context
// that collects each terminal's text (acking it as xterm does), terminal exits and VM updates, and
// `call`, which turns an error result into a rejection carrying its code, message and hint.
import type { LabEventName, LabEvents } from '../../electron/common/events';
import type { TerminalInfo, VmInfo } from '../../electron/common/types';
import type { ClientContext } from '../../electron/lab/dispatcher';
import type { LabBackend } from '../../electron/lab/lab-backend';

export function apiTestClient(backend: () => LabBackend) {
  const output = new Map<string, string>();
  const exits = new Map<string, LabEvents['terminal.exit']>();
  /** What a terminal had shown when it ended. */
  const shownAtExit = new Map<string, string>();
  const vmUpdates: VmInfo[] = [];
  const ctx: ClientContext = {
    clientId: 'ui',
    emit<E extends LabEventName>(event: E, payload: LabEvents[E]) {
      if (event === 'terminal.data') {
        const { id, data } = payload as LabEvents['terminal.data'];
        output.set(id, (output.get(id) ?? '') + data);
        void backend().dispatch('terminal.ack', { id, chars: data.length }, ctx);
      }
      if (event === 'terminal.exit') {
        const exit = payload as LabEvents['terminal.exit'];
        exits.set(exit.id, exit);
        shownAtExit.set(exit.id, output.get(exit.id) ?? '');
      }
      if (event === 'vm.updated') vmUpdates.push(payload as VmInfo);
    },
  };
  async function call<T>(method: string, args: unknown = {}): Promise<T> {
    const result = await backend().dispatch(method, args, ctx);
    if (!result.ok) throw Object.assign(new Error(result.error.message), result.error);
    return result.result as T;
  }
  /** Opens a guest's serial console as the VMs view does: open, then report the size (the replay). */
  async function openSerialConsole(vmId: string): Promise<TerminalInfo> {
    const term = await call<TerminalInfo>('terminal.open', { kind: 'vm-serial', vmId, cols: 100, rows: 30 });
    await call('terminal.resize', { id: term.id, cols: 100, rows: 30 });
    return term;
  }
  return { ctx, call, output, exits, shownAtExit, vmUpdates, openSerialConsole };
}
