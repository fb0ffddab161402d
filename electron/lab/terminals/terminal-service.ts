// Open terminals, owned by the client (window or WebSocket) that opened them.
import { randomUUID } from 'node:crypto';
import { homedir } from 'node:os';
import { LabError } from '../../common/errors';
import type { TerminalInfo, TerminalKind } from '../../common/types';
import { findExecutable } from '../process';
import { OutputPump } from './output-pump';
import { PtyTerminalSource } from './pty-source';
import type { Disposable, TerminalExit, TerminalSource } from './terminal-source';

export interface TerminalSink {
  data(ownerId: string, id: string, data: string): void;
  exit(ownerId: string, id: string, exit: TerminalExit): void;
}

interface OpenTerminal {
  info: TerminalInfo;
  ownerId: string;
  source: TerminalSource;
  pump: OutputPump;
  subscriptions: Disposable[];
}

export type SourceFactory = (
  kind: TerminalKind,
  cols: number,
  rows: number,
) => { source: TerminalSource; title: string };

export function hostShellFactory(env: NodeJS.ProcessEnv = process.env): SourceFactory {
  return (_kind, cols, rows) => {
    const shell = [env.SHELL, '/bin/bash', '/bin/sh'].find((s) => s !== undefined && findExecutable(s, env));
    if (!shell) throw new LabError('TOOL_MISSING', 'No shell found (tried $SHELL, /bin/bash, /bin/sh).');
    const source = new PtyTerminalSource({
      file: shell,
      args: [],
      cwd: env.HOME ?? homedir(),
      env: { ...env, TERM: 'xterm-256color', COLORTERM: 'truecolor', KDLAB_TERMINAL: '1' },
      cols,
      rows,
    });
    return { source, title: `${shell.split('/').pop() ?? 'shell'} (host)` };
  };
}

export class TerminalService {
  readonly #terminals = new Map<string, OpenTerminal>();
  readonly #sink: TerminalSink;
  readonly #factory: SourceFactory;

  constructor(sink: TerminalSink, factory: SourceFactory = hostShellFactory()) {
    this.#sink = sink;
    this.#factory = factory;
  }

  open(ownerId: string, kind: TerminalKind, cols: number, rows: number): TerminalInfo {
    const { source, title } = this.#factory(kind, cols, rows);
    return this.attach(ownerId, kind, title, source, cols, rows);
  }

  /** Puts any TerminalSource behind the same pump, events and API. */
  attach(
    ownerId: string,
    kind: TerminalKind,
    title: string,
    source: TerminalSource,
    cols: number,
    rows: number,
  ): TerminalInfo {
    const id = randomUUID();
    const info: TerminalInfo = { id, kind, title, cols, rows, pid: source.pid };
    const pump = new OutputPump(source, { emit: (data) => this.#sink.data(ownerId, id, data) });
    const terminal: OpenTerminal = { info, ownerId, source, pump, subscriptions: [] };
    terminal.subscriptions.push(
      source.onData((chunk) => pump.push(chunk)),
      source.onExit((exit) => {
        pump.flush(true);
        this.#forget(id);
        this.#sink.exit(ownerId, id, exit);
      }),
    );
    this.#terminals.set(id, terminal);
    return info;
  }

  list(ownerId?: string): TerminalInfo[] {
    return [...this.#terminals.values()]
      .filter((t) => ownerId === undefined || t.ownerId === ownerId)
      .map((t) => t.info);
  }

  write(ownerId: string, id: string, data: string): void {
    this.#get(ownerId, id).source.write(data);
  }

  resize(ownerId: string, id: string, cols: number, rows: number): void {
    const terminal = this.#get(ownerId, id);
    terminal.source.resize(cols, rows);
    terminal.info = { ...terminal.info, cols, rows };
  }

  ack(ownerId: string, id: string, chars: number): void {
    const terminal = this.#terminals.get(id);
    // An ack racing the terminal's exit is harmless.
    if (terminal && terminal.ownerId === ownerId) terminal.pump.ack(chars);
  }

  close(ownerId: string, id: string): void {
    const terminal = this.#terminals.get(id);
    if (!terminal || terminal.ownerId !== ownerId) return;
    terminal.source.kill();
  }

  closeAllOf(ownerId: string): void {
    for (const terminal of this.#terminals.values()) if (terminal.ownerId === ownerId) terminal.source.kill();
  }

  dispose(): void {
    for (const terminal of this.#terminals.values()) {
      terminal.source.kill('SIGKILL');
      this.#forget(terminal.info.id);
    }
  }

  #forget(id: string): void {
    const terminal = this.#terminals.get(id);
    if (!terminal) return;
    terminal.pump.dispose();
    for (const s of terminal.subscriptions) s.dispose();
    this.#terminals.delete(id);
  }

  #get(ownerId: string, id: string): OpenTerminal {
    const terminal = this.#terminals.get(id);
    if (!terminal || terminal.ownerId !== ownerId) {
      throw new LabError('NOT_FOUND', `No open terminal ${id}.`, 'It may have exited; open a new one.');
    }
    return terminal;
  }
}
