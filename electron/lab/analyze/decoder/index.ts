// The panic-log decoder: console logs in, one DecodedReport per crash out. `decodeText` is pure and
// synchronous; `LogDecoder` takes the same text in chunks (a file or stdin streamed through it);
// `decodeLog` adds symbolization against a vmlinux / System.map / module tree with the host's tools.
import { LineSplitter, normalizeLine } from './normalize';
import { ReportParser } from './parser';
import { symbolizeReports } from './symbolize';
import type { DecodedReport } from './types';

export type {
  Arch,
  CodeBytes,
  DecodedReport,
  DisassembledLine,
  ExitStatus,
  Explanation,
  Frame,
  InitFailure,
  OomInfo,
  ReportKind,
  SourceLocation,
  TaintFlag,
  UserSegfault,
} from './types';
export { reportKinds } from './types';
export { formatReports } from './format';

/** Streaming decoder: push chunks of text as they arrive, then finish(). Memory stays bounded by the reports. */
export class LogDecoder {
  readonly #splitter = new LineSplitter();
  readonly #parser = new ReportParser();
  readonly #onLine = (raw: string) => normalizeLine(raw, (l) => this.#parser.line(l.text, l.kernel));

  push(chunk: string): void {
    this.#splitter.push(chunk, this.#onLine);
  }

  finish(): DecodedReport[] {
    this.#splitter.end(this.#onLine);
    return this.#parser.finish();
  }
}

/** Decodes a whole log (pure). */
export function decodeText(text: string): DecodedReport[] {
  const decoder = new LogDecoder();
  decoder.push(text);
  return decoder.finish();
}

export interface DecodeOptions {
  vmlinux?: string;
  systemMap?: string;
  /** A directory searched (recursively) for the `.ko` files of modules named in the reports. */
  modulesDir?: string;
  signal?: AbortSignal;
}

/** Decodes a log and, given a vmlinux / System.map / modules, resolves its sites to source lines. */
export async function decodeLog(text: string, options: DecodeOptions = {}): Promise<DecodedReport[]> {
  const reports = decodeText(text);
  if (options.vmlinux || options.systemMap || options.modulesDir) await symbolizeReports(reports, options);
  return reports;
}
