// The host check: last report, a run in progress, and its error (with the hint).
import type { LabApi } from '../../../../electron/common/api';
import type { LabErrorData } from '../../../../electron/common/errors';
import { LabError } from '../../../../electron/common/errors';
import type { DoctorReport } from '../../../../electron/common/types';

function toErrorData(error: unknown): LabErrorData {
  return error instanceof LabError
    ? error.toData()
    : { code: 'INTERNAL', message: String(error), hint: null };
}

export class DoctorState {
  #api: LabApi;
  #report = $state<DoctorReport | null>(null);
  #running = $state(false);
  #loaded = $state(false);
  #error = $state<LabErrorData | null>(null);

  constructor(api: LabApi) {
    this.#api = api;
  }

  get report() {
    return this.#report;
  }
  get running() {
    return this.#running;
  }
  get loaded() {
    return this.#loaded;
  }
  get error() {
    return this.#error;
  }

  async load(): Promise<void> {
    try {
      this.#report = await this.#api.invoke('doctor.last', {});
    } catch (error) {
      this.#error = toErrorData(error);
    } finally {
      this.#loaded = true;
    }
  }

  async run(): Promise<void> {
    if (this.#running) return;
    this.#running = true;
    this.#error = null;
    try {
      this.#report = await this.#api.invoke('doctor.run', { kvmProbe: true });
    } catch (error) {
      this.#error = toErrorData(error);
    } finally {
      this.#running = false;
    }
  }
}
