// Turns whatever users paste into kernel message lines: strips syslog/journal prefixes (any locale's
// month names), `<N>` log levels, dmesg timestamps (`[ 1.23]`, `dmesg -H`, `dmesg -T`), printk caller
// ids, ANSI colours and non-breaking spaces, and splits lines that lost their newlines.
// Hot path: most lines of a big log are noise, so every costly step hides behind a cheap check.

export interface NormalizedLine {
  /** The kernel message with every prefix removed. */
  text: string;
  /** False for lines a syslog/journal or `<N>` prefix marks as coming from user space. */
  kernel: boolean;
}

// Month (any script, optionally dotted), day-first forms, CJK `2月 16日`, ISO dates; then a time.
const syslogRe =
  /^(?:\p{L}[\p{L}.]{1,11}\s+\d{1,2}|\d{1,2}\.?\s+\p{L}[\p{L}.]{1,11}|\d{1,2}\p{L}{1,2}\s*\d{1,2}\p{L}?|\d{4}-\d\d-\d\d[T ])\s*\d{1,2}:\d\d:\d\d(?:[.,]\d+)?(?:Z|[+-]\d\d:?\d\d)?\s+/u;
const tagRe = /^([^\s[:]+)(?:\[\d+\])?:(?:\s|$)/;
const dmesgStampRe =
  /^\[(?:\s*[+-]?\d+[.,]\d+|\s*\p{L}{2,12}\.?\s+\d{1,2}\s+\d{1,2}:\d\d(?::\d\d)?|\p{L}{2,4}\s+\p{L}{2,12}\.?\s+\d{1,2}\s+\d\d:\d\d:\d\d\s+\d{4})\]/u;
const callerIdRe = /^\[\s*[TC]\d+\]/;
const ESC = String.fromCharCode(27);
const ansiRe = new RegExp(`${ESC}\\[[0-9;?]*[A-Za-z]|${ESC}[()][A-Z0-9]`, 'g');
// A dmesg timestamp in the middle of a line: the newline before it was lost.
const gluedRe = /(?<=\S)[ \t]+(?=\[\s*\d+\.\d{6}\](?:\[\s*[TC]\d+\])?\s)/;
const gluedSplitRe = /(?<=\S)[ \t]+(?=\[\s*\d+\.\d{6}\](?:\[\s*[TC]\d+\])?\s)/g;
const oddSpacesRe = /[\u00a0\u2007\u202f\u3000]/g;

function stripPrefixes(line: string): NormalizedLine {
  let text = line;
  let kernel = true;
  let c = text.charCodeAt(0);
  // syslog / journal: `Feb 16 22:10:37 host kernel: …`, `Sep 02 13:40:35 kernel: …`
  if (c !== 91 /* [ */ && c !== 60 /* < */ && c !== 32 && c !== 9 && text.length > 15) {
    const m = syslogRe.exec(text);
    if (m) {
      const rest = text.slice(m[0].length);
      const tag = tagRe.exec(rest);
      if (tag && tag[1] === 'kernel') {
        text = rest.slice(tag[0].length);
      } else {
        // `host prog[pid]: …` (journal output may have no host)
        const sp = rest.indexOf(' ');
        const after = sp > 0 ? rest.slice(sp + 1) : '';
        const hosted = sp > 0 ? tagRe.exec(after) : null;
        if (hosted) {
          kernel = hosted[1] === 'kernel';
          text = after.slice(hosted[0].length);
        } else if (tag) {
          kernel = false;
          text = rest.slice(tag[0].length);
        } else {
          text = rest;
        }
      }
      c = text.charCodeAt(0);
    }
  }
  if (c === 107 /* k */ && text.startsWith('kernel: ')) {
    text = text.slice(8);
    c = text.charCodeAt(0);
  }
  // `<4>[  399.000045] …`: kernel facility is 0, so a level of 8 or more came from user space.
  if (c === 60 /* < */) {
    const end = text.indexOf('>');
    if (end > 1 && end <= 4) {
      const level = Number(text.slice(1, end));
      if (Number.isInteger(level)) {
        if (level >= 8) kernel = false;
        text = text.slice(end + 1);
        c = text.charCodeAt(0);
      }
    }
  }
  if (c === 91 /* [ */) {
    const m = dmesgStampRe.exec(text);
    if (m) {
      text = text.slice(m[0].length);
      if (text.charCodeAt(0) === 91) {
        const id = callerIdRe.exec(text);
        if (id) text = text.slice(id[0].length);
      }
      if (text.charCodeAt(0) === 32) text = text.slice(1);
    }
  }
  return { text, kernel };
}

/** Normalizes one physical line; yields one or more message lines (more when lines were glued). */
export function normalizeLine(raw: string, emit: (line: NormalizedLine) => void): void {
  let line = raw;
  if (line.charCodeAt(line.length - 1) === 13) line = line.slice(0, -1);
  if (line.indexOf(ESC) !== -1) line = line.replace(ansiRe, '');
  if (line.indexOf('\u00a0') !== -1 || line.indexOf('\u202f') !== -1) line = line.replace(oddSpacesRe, ' ');
  const first = stripPrefixes(line);
  const text = first.text;
  // Only a line that still has a `[` past its start can carry a glued timestamp.
  if (text.indexOf('[', 1) !== -1 && gluedRe.test(text)) {
    const parts = text.split(gluedSplitRe);
    emit({ text: parts[0]!, kernel: first.kernel });
    for (let i = 1; i < parts.length; i++)
      emit({ text: stripPrefixes(parts[i]!).text, kernel: first.kernel });
    return;
  }
  emit(first);
}

/** Splits streamed text into lines; keeps the unfinished tail for the next chunk. */
export class LineSplitter {
  #tail = '';

  push(chunk: string, onLine: (line: string) => void): void {
    const text = this.#tail === '' ? chunk : this.#tail + chunk;
    let start = 0;
    for (;;) {
      const nl = text.indexOf('\n', start);
      if (nl === -1) break;
      onLine(text.slice(start, nl));
      start = nl + 1;
    }
    this.#tail = text.slice(start);
  }

  end(onLine: (line: string) => void): void {
    if (this.#tail !== '') onLine(this.#tail);
    this.#tail = '';
  }
}
