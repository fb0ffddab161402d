// Jobs, kept live by job.updated events; logs fetched on demand and followed by job.log events.
import type { LabApi } from '../../../../electron/common/api';
import type { JobInfo } from '../../../../electron/common/types';

export class JobsState {
  #api: LabApi;
  #jobs = $state<JobInfo[]>([]);
  #logs = $state<Record<string, string>>({});
  // Which logs are open only matters inside event handlers, so it need not be reactive.
  // eslint-disable-next-line svelte/prefer-svelte-reactivity
  #open = new Set<string>();

  constructor(api: LabApi) {
    this.#api = api;
  }

  get jobs(): JobInfo[] {
    return this.#jobs;
  }

  get running(): JobInfo | undefined {
    return this.#jobs.find((j) => j.state === 'running');
  }

  log(id: string): string | undefined {
    return this.#logs[id];
  }

  /** Subscribes to job events; returns the cleanup. */
  listen(): () => void {
    const offUpdate = this.#api.on('job.updated', (job) => this.#upsert(job));
    const offLog = this.#api.on('job.log', ({ id, text }) => {
      if (this.#open.has(id) && this.#logs[id] !== undefined) this.#logs[id] += text;
    });
    void this.refresh();
    return () => {
      offUpdate();
      offLog();
    };
  }

  async refresh(): Promise<void> {
    this.#jobs = await this.#api.invoke('jobs.list', {});
  }

  async cancel(id: string): Promise<void> {
    this.#upsert(await this.#api.invoke('jobs.cancel', { id }));
  }

  async openLog(id: string): Promise<void> {
    this.#open.add(id);
    this.#logs[id] = await this.readLog(id);
  }

  /** The whole log as it is on disk now (for "Save log"), without opening it in the view. */
  async readLog(id: string): Promise<string> {
    let text = '';
    let offset = 0;
    for (;;) {
      const chunk = await this.#api.invoke('jobs.log', { id, offset });
      text += chunk.text;
      if (chunk.text === '' || chunk.nextOffset >= chunk.size) break;
      offset = chunk.nextOffset;
    }
    return text;
  }

  closeLog(id: string): void {
    this.#open.delete(id);
    delete this.#logs[id];
  }

  #upsert(job: JobInfo): void {
    const index = this.#jobs.findIndex((j) => j.id === job.id);
    if (index >= 0) this.#jobs[index] = job;
    else this.#jobs = [job, ...this.#jobs];
  }
}
