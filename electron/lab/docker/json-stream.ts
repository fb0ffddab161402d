// The Docker engine answers builds, imports and pulls with a stream of JSON messages, one per line
// (sometimes several per chunk, sometimes one split across chunks). This reads them in order.

export interface DockerStreamMessage {
  stream?: string;
  status?: string;
  progress?: string;
  id?: string;
  error?: string;
  errorDetail?: { message?: string; code?: number };
  aux?: { ID?: string };
}

/** Splits a chunked byte stream into the JSON messages it carries; non-JSON lines become `stream`. */
export class JsonLineSplitter {
  #pending = '';
  readonly #decoder = new TextDecoder();

  push(chunk: Uint8Array | string): DockerStreamMessage[] {
    this.#pending += typeof chunk === 'string' ? chunk : this.#decoder.decode(chunk, { stream: true });
    const lines = this.#pending.split(/\r?\n/);
    this.#pending = lines.pop() ?? '';
    return lines.flatMap((line) => parseLine(line));
  }

  finish(): DockerStreamMessage[] {
    const rest = this.#pending + this.#decoder.decode();
    this.#pending = '';
    return parseLine(rest);
  }
}

function parseLine(line: string): DockerStreamMessage[] {
  const text = line.trim();
  if (text === '') return [];
  try {
    const value: unknown = JSON.parse(text);
    if (typeof value === 'object' && value !== null) return [value];
  } catch {
    // fall through: keep what the engine said rather than lose it
  }
  return [{ stream: `${text}\n` }];
}

/** Reads a Docker JSON stream to its end, calling `onMessage` for each message. */
export async function readDockerStream(
  stream: NodeJS.ReadableStream,
  onMessage: (message: DockerStreamMessage) => void,
): Promise<void> {
  const splitter = new JsonLineSplitter();
  for await (const chunk of stream as AsyncIterable<Uint8Array | string>) {
    for (const message of splitter.push(chunk)) onMessage(message);
  }
  for (const message of splitter.finish()) onMessage(message);
}
