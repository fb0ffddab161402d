// Progress of a kbuild run from its own output: each "  CC      path" style line is one step; the
// expected number of steps comes from the last build of the same config (or an estimate), and the
// ETA from the rate so far.

const stepLine = /^\s{2}([A-Z][A-Z0-9_]{1,11})\s+(\S.*)$/;

export function parseKbuildStep(line: string): { tool: string; target: string } | null {
  const match = stepLine.exec(line);
  if (!match) return null;
  return { tool: match[1]!, target: match[2]!.trim() };
}

export class BuildProgressTracker {
  readonly #expected: number;
  readonly #startedAt: number;
  readonly #now: () => number;
  #steps = 0;
  #partial = '';
  #last: { tool: string; target: string } | null = null;

  constructor(expectedSteps: number, now: () => number = Date.now) {
    this.#expected = Math.max(1, expectedSteps);
    this.#now = now;
    this.#startedAt = now();
  }

  get steps(): number {
    return this.#steps;
  }

  /** Feeds raw output (any chunking); returns true when at least one new step was seen. */
  push(chunk: string): boolean {
    const text = this.#partial + chunk;
    const lines = text.split('\n');
    this.#partial = lines.pop() ?? '';
    let seen = false;
    for (const line of lines) {
      const step = parseKbuildStep(line);
      if (step) {
        this.#steps += 1;
        this.#last = step;
        seen = true;
      }
    }
    return seen;
  }

  /** A fraction that never reaches 1 before make exits (the estimate may be short). */
  snapshot(): { fraction: number; message: string; etaSeconds: number | null } {
    const fraction = Math.min(0.99, this.#steps / this.#expected);
    const elapsed = (this.#now() - this.#startedAt) / 1000;
    const etaSeconds =
      fraction > 0.02 ? Math.max(0, Math.round((elapsed / fraction) * (1 - fraction))) : null;
    const message = this.#last ? `${this.#last.tool} ${this.#last.target}` : 'Starting make…';
    return { fraction, message, etaSeconds };
  }
}
