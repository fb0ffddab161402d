// Fan-out of back end events: broadcasts go to every client, targeted ones to their owner only.
import type { LabEventName, LabEvents } from '../common/events';
import type { ClientContext } from './dispatcher';

export class EventBus {
  readonly #clients = new Map<string, ClientContext>();

  attach(client: ClientContext): () => void {
    this.#clients.set(client.clientId, client);
    return () => {
      this.#clients.delete(client.clientId);
    };
  }

  broadcast<E extends LabEventName>(event: E, payload: LabEvents[E]): void {
    for (const client of this.#clients.values()) client.emit(event, payload);
  }

  sendTo<E extends LabEventName>(clientId: string, event: E, payload: LabEvents[E]): boolean {
    const client = this.#clients.get(clientId);
    if (!client) return false;
    client.emit(event, payload);
    return true;
  }

  get clientCount(): number {
    return this.#clients.size;
  }
}
