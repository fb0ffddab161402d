// Kernels, running guests and the vmcore library, kept live by vm.updated events; every action
// records its error (as data, with the hint) instead of throwing into the view.
import type { ApiArgs, LabApi } from '../../../../electron/common/api';
import type { LabErrorData } from '../../../../electron/common/errors';
import { LabError } from '../../../../electron/common/errors';
import type { KernelSummary, VmInfo, VmcoreSummary } from '../../../../electron/common/types';

function asError(e: unknown): LabErrorData {
  return e instanceof LabError ? e.toData() : { code: 'INTERNAL', message: String(e), hint: null };
}

export class LabState {
  #api: LabApi;
  kernels = $state<KernelSummary[]>([]);
  vms = $state<VmInfo[]>([]);
  vmcores = $state<VmcoreSummary[]>([]);
  error = $state<LabErrorData | null>(null);
  busy = $state<string | null>(null);

  constructor(api: LabApi) {
    this.#api = api;
  }

  listen(): () => void {
    const off = this.#api.on('vm.updated', (vm) => {
      const i = this.vms.findIndex((v) => v.id === vm.id);
      if (i >= 0) this.vms[i] = vm;
      else this.vms = [vm, ...this.vms];
    });
    void this.refresh();
    return off;
  }

  async refresh(): Promise<void> {
    await this.#do(null, async () => {
      [this.kernels, this.vms, this.vmcores] = await Promise.all([
        this.#api.invoke('kernels.list', {}),
        this.#api.invoke('vms.list', {}),
        this.#api.invoke('vmcores.list', {}),
      ]);
    });
  }

  boot(args: ApiArgs<'vms.boot'>): Promise<VmInfo | null> {
    return this.#do('boot', () => this.#api.invoke('vms.boot', args));
  }

  crash(id: string): Promise<null> {
    return this.#do('crash', () => this.#api.invoke('vms.crash', { id }));
  }

  powerOff(id: string): Promise<VmInfo | null> {
    return this.#do('power-off', () => this.#api.invoke('vms.powerOff', { id }));
  }

  async dumpMemory(id: string): Promise<void> {
    const entry = await this.#do('dump', () => this.#api.invoke('vms.dumpMemory', { id }));
    if (entry) this.vmcores = [entry, ...this.vmcores];
  }

  async capture(args: ApiArgs<'vmcores.capture'>): Promise<VmcoreSummary | null> {
    const entry = await this.#do('capture', () => this.#api.invoke('vmcores.capture', args));
    if (entry) this.vmcores = [entry, ...this.vmcores.filter((v) => v.id !== entry.id)];
    return entry;
  }

  async removeVmcore(id: string): Promise<void> {
    await this.#do('remove', () => this.#api.invoke('vmcores.remove', { id }));
    this.vmcores = this.vmcores.filter((v) => v.id !== id);
  }

  async #do<T>(what: string | null, fn: () => Promise<T>): Promise<T | null> {
    this.error = null;
    if (what) this.busy = what;
    try {
      return await fn();
    } catch (e) {
      this.error = asError(e);
      return null;
    } finally {
      if (what) this.busy = null;
    }
  }
}
