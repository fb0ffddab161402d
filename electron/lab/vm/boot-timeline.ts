// Watches a guest's serial console and turns what it prints into boot milestones and crash events.

export type MilestoneKind =
  | 'firmware'
  | 'kernel'
  | 'init'
  | 'marker'
  | 'oops'
  | 'bug'
  | 'panic'
  | 'kill-init'
  | 'vfs-no-root'
  | 'capture-kernel';

export interface Milestone {
  kind: MilestoneKind;
  /** Milliseconds since the watcher started (QEMU start). */
  atMs: number;
  line: string;
  /** For markers: the name the user gave; for panics: the text after "not syncing: ". */
  detail: string | null;
}

const rules: {
  kind: MilestoneKind;
  pattern: RegExp;
  once: boolean;
  detail?: (m: RegExpExecArray) => string;
}[] = [
  { kind: 'firmware', pattern: /SeaBIOS \(version [^)]*\)|Booting from ROM/, once: true },
  { kind: 'kernel', pattern: /Linux version (\S+)/, once: true, detail: (m) => m[1]! },
  { kind: 'init', pattern: /Run (\S+) as init process/, once: true, detail: (m) => m[1]! },
  {
    kind: 'kill-init',
    pattern: /Attempted to kill init! exitcode=(0x[0-9a-f]+)/,
    once: false,
    detail: (m) => m[1]!,
  },
  {
    kind: 'vfs-no-root',
    pattern: /VFS: Unable to mount root fs on (\S+)/,
    once: false,
    detail: (m) => m[1]!,
  },
  { kind: 'bug', pattern: /BUG: (.*)$/, once: false, detail: (m) => m[1]!.trim() },
  { kind: 'oops', pattern: /Oops: (.*)$/, once: false, detail: (m) => m[1]!.trim() },
  {
    kind: 'panic',
    pattern: /Kernel panic - not syncing: (.*?)(?: \]---)?$/,
    once: false,
    detail: (m) => m[1]!.trim(),
  },
  { kind: 'capture-kernel', pattern: /Starting crashdump kernel|KDLAB-CAPTURE-START/, once: true },
];

export class BootTimeline {
  readonly #started: number;
  readonly #now: () => number;
  readonly #markers: { name: string; pattern: RegExp }[];
  readonly #seen = new Set<string>();
  readonly milestones: Milestone[] = [];
  #partial = '';

  constructor(markers: { name: string; pattern: RegExp }[] = [], now: () => number = Date.now) {
    this.#markers = markers;
    this.#now = now;
    this.#started = now();
  }

  /** Feeds console output (any chunking); returns the milestones it completed. */
  push(chunk: string): Milestone[] {
    const lines = (this.#partial + chunk).split(/\r?\n/);
    this.#partial = lines.pop() ?? '';
    const found: Milestone[] = [];
    const atMs = this.#now() - this.#started;
    for (const raw of lines) {
      // Strip ANSI escapes and the printk timestamp.
      // eslint-disable-next-line no-control-regex -- ANSI escapes are exactly what must go
      const line = raw.replace(/\x1b\[[0-9;?]*[A-Za-z]/g, '').replace(/^\[\s*\d+\.\d+\]\s*/, '');
      for (const rule of rules) {
        if (rule.once && this.#seen.has(rule.kind)) continue;
        const match = rule.pattern.exec(line);
        if (!match) continue;
        this.#seen.add(rule.kind);
        found.push({ kind: rule.kind, atMs, line, detail: rule.detail ? rule.detail(match) : null });
      }
      for (const marker of this.#markers) {
        if (marker.pattern.test(line)) found.push({ kind: 'marker', atMs, line, detail: marker.name });
      }
    }
    this.milestones.push(...found);
    return found;
  }
}
