// The small Markdown of recipe explanations (headings, paragraphs, lists, fenced code, `code`,
// **bold**, *em*), parsed into blocks that the CLI renders for a terminal and the UI renders as
// elements. Nothing is ever turned into HTML text, so nothing needs escaping or sanitising: the UI
// builds DOM nodes from the blocks and the text stays text.

export type Inline =
  | { kind: 'text'; text: string }
  | { kind: 'code'; text: string }
  | { kind: 'strong'; text: string }
  | { kind: 'em'; text: string };

export type Block =
  | { kind: 'heading'; level: number; inlines: Inline[] }
  | { kind: 'paragraph'; inlines: Inline[] }
  | { kind: 'list'; ordered: boolean; items: Inline[][] }
  | { kind: 'code'; lang: string; text: string };

/** `code`, **strong**, *em*; underscores stay literal (kernel names are full of them). */
export function parseInline(text: string): Inline[] {
  const out: Inline[] = [];
  const pattern = /(`+)([\s\S]*?[^`])\1(?!`)|\*\*([^*]+)\*\*|\*([^*\s][^*]*)\*/g;
  let last = 0;
  for (const m of text.matchAll(pattern)) {
    if (m.index > last) out.push({ kind: 'text', text: text.slice(last, m.index) });
    if (m[1] !== undefined) out.push({ kind: 'code', text: m[2]!.replace(/^ (.*) $/, '$1') });
    else if (m[3] !== undefined) out.push({ kind: 'strong', text: m[3] });
    else out.push({ kind: 'em', text: m[4]! });
    last = m.index + m[0].length;
  }
  if (last < text.length) out.push({ kind: 'text', text: text.slice(last) });
  return out;
}

const listItem = /^\s{0,3}(?:([-*+])|(\d+)[.)])\s+(.*)$/;

export function parseMarkdown(source: string): Block[] {
  const lines = source.replace(/\r\n?/g, '\n').split('\n');
  const blocks: Block[] = [];
  let paragraph: string[] = [];
  let list: { ordered: boolean; items: string[] } | null = null;
  const flush = () => {
    if (paragraph.length)
      blocks.push({ kind: 'paragraph', inlines: parseInline(paragraph.join(' ').trim()) });
    paragraph = [];
    if (list)
      blocks.push({
        kind: 'list',
        ordered: list.ordered,
        items: list.items.map((i) => parseInline(i.trim())),
      });
    list = null;
  };
  for (let i = 0; i < lines.length; i += 1) {
    const line = lines[i]!;
    const fence = /^\s{0,3}(```+|~~~+)\s*([\w+-]*)\s*$/.exec(line);
    if (fence) {
      flush();
      const body: string[] = [];
      for (i += 1; i < lines.length && !lines[i]!.trimStart().startsWith(fence[1]!); i += 1)
        body.push(lines[i]!);
      blocks.push({ kind: 'code', lang: fence[2] ?? '', text: body.join('\n') });
      continue;
    }
    const heading = /^\s{0,3}(#{1,6})\s+(.*?)\s*#*\s*$/.exec(line);
    if (heading) {
      flush();
      blocks.push({ kind: 'heading', level: heading[1]!.length, inlines: parseInline(heading[2]!) });
      continue;
    }
    if (line.trim() === '') {
      flush();
      continue;
    }
    const item = listItem.exec(line);
    if (item) {
      const ordered = item[2] !== undefined;
      if (paragraph.length || (list && list.ordered !== ordered)) flush();
      list ??= { ordered, items: [] };
      list.items.push(item[3]!);
      continue;
    }
    // A line under a list item continues it (lazy continuation), as in CommonMark.
    if (list && list.items.length) list.items[list.items.length - 1] += ` ${line.trim()}`;
    else paragraph.push(line.trim());
  }
  flush();
  return blocks;
}

/** The inline runs as plain text (no markup), e.g. for a title attribute. */
export function inlineText(inlines: Inline[]): string {
  return inlines.map((i) => i.text).join('');
}

const ansi = {
  bold: (s: string) => `\x1b[1m${s}\x1b[22m`,
  underline: (s: string) => `\x1b[4m${s}\x1b[24m`,
  italic: (s: string) => `\x1b[3m${s}\x1b[23m`,
  cyan: (s: string) => `\x1b[36m${s}\x1b[39m`,
};

function inlineToTerminal(inlines: Inline[], color: boolean): string {
  return inlines
    .map((i) => {
      if (i.kind === 'text') return i.text;
      if (!color) return i.kind === 'code' ? `\`${i.text}\`` : i.text;
      if (i.kind === 'code') return ansi.cyan(i.text);
      return i.kind === 'strong' ? ansi.bold(i.text) : ansi.italic(i.text);
    })
    .join('');
}

/**
 * Markdown for a terminal: with `color` (a TTY), headings bold and underlined, code in cyan,
 * **bold** and *italic* as such; without it (a pipe, a CI log), plain text with `code` kept in
 * backticks. Every line starts with `indent`.
 */
export function markdownToTerminal(source: string, options: { color: boolean; indent?: string }): string {
  const pad = options.indent ?? '';
  const out: string[] = [];
  for (const block of parseMarkdown(source)) {
    if (out.length) out.push('');
    switch (block.kind) {
      case 'heading': {
        const text = inlineToTerminal(block.inlines, options.color);
        out.push(pad + (options.color ? ansi.bold(ansi.underline(text)) : text));
        break;
      }
      case 'paragraph':
        out.push(pad + inlineToTerminal(block.inlines, options.color));
        break;
      case 'list':
        block.items.forEach((item, n) =>
          out.push(`${pad}  ${block.ordered ? `${n + 1}.` : '•'} ${inlineToTerminal(item, options.color)}`),
        );
        break;
      case 'code':
        for (const line of block.text.split('\n'))
          out.push(`${pad}    ${options.color ? ansi.cyan(line) : line}`);
        break;
    }
  }
  return out.join('\n');
}
