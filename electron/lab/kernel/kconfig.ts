// Enough Kconfig to explain a dropped option: the .config format, the `depends on` expression
// language with tristate logic, and an index of where each symbol is defined and under which
// conditions (its own `depends on`, plus every enclosing `if` and `menu … depends on`).
import { readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { fmt, joinText, sameText } from '../../common/local-text';
import type { LocalText } from '../../common/local-text';

export type ConfigValues = Map<string, string>;

/** Parses a .config (or fragment): `CONFIG_X=y`, `CONFIG_S="text"`, `# CONFIG_X is not set` (→ n). */
export function parseConfig(text: string): ConfigValues {
  const values: ConfigValues = new Map();
  for (const raw of text.split('\n')) {
    const line = raw.trim();
    const set = /^CONFIG_([A-Za-z0-9_]+)=(.*)$/.exec(line);
    if (set) {
      values.set(set[1]!, set[2]!);
      continue;
    }
    const unset = /^# CONFIG_([A-Za-z0-9_]+) is not set$/.exec(line);
    if (unset) values.set(unset[1]!, 'n');
  }
  return values;
}

// ---- expressions -------------------------------------------------------------------------------

export type Expr =
  | { kind: 'symbol'; name: string }
  | { kind: 'const'; value: string }
  | { kind: 'not'; operand: Expr }
  | { kind: 'and' | 'or'; left: Expr; right: Expr }
  | { kind: 'compare'; op: '=' | '!=' | '<' | '<=' | '>' | '>='; left: Expr; right: Expr };

function tokenize(text: string): string[] {
  const tokens: string[] = [];
  const re = /\s*(&&|\|\||!=|<=|>=|[!()=<>]|"(?:[^"\\]|\\.)*"|'(?:[^'\\]|\\.)*'|[A-Za-z0-9_.$-]+)/y;
  let match: RegExpExecArray | null;
  let index = 0;
  while (index < text.length && (match = re.exec(text))) {
    tokens.push(match[1]!);
    index = re.lastIndex;
    if (/^\s*$/.test(text.slice(index))) break;
  }
  return tokens;
}

export function parseExpr(text: string): Expr {
  const tokens = tokenize(text);
  let pos = 0;
  const peek = () => tokens[pos];
  const next = () => tokens[pos++];
  const primary = (): Expr => {
    const token = next();
    if (token === undefined) throw new Error(`unexpected end of expression: ${text}`);
    if (token === '!') return { kind: 'not', operand: primary() };
    if (token === '(') {
      const inner = or();
      if (next() !== ')') throw new Error(`missing ) in ${text}`);
      return inner;
    }
    const atom: Expr = /^["']/.test(token)
      ? { kind: 'const', value: token.slice(1, -1) }
      : /^(y|m|n|-?\d+|0x[0-9a-fA-F]+)$/.test(token)
        ? { kind: 'const', value: token }
        : { kind: 'symbol', name: token };
    const op = peek();
    if (op === '=' || op === '!=' || op === '<' || op === '<=' || op === '>' || op === '>=') {
      next();
      return { kind: 'compare', op, left: atom, right: primary() };
    }
    return atom;
  };
  const and = (): Expr => {
    let left = primary();
    while (peek() === '&&') {
      next();
      left = { kind: 'and', left, right: primary() };
    }
    return left;
  };
  const or = (): Expr => {
    let left = and();
    while (peek() === '||') {
      next();
      left = { kind: 'or', left, right: and() };
    }
    return left;
  };
  const expr = or();
  if (pos < tokens.length) throw new Error(`unexpected ${tokens[pos]} in ${text}`);
  return expr;
}

const tristate = { n: 0, m: 1, y: 2 } as const;

function valueOf(expr: Expr, values: ConfigValues): string {
  if (expr.kind === 'const') return expr.value;
  if (expr.kind === 'symbol') return values.get(expr.name) ?? 'n';
  return ['n', 'm', 'y'][evaluate(expr, values)]!;
}

function asTristate(value: string): 0 | 1 | 2 {
  return value === 'y' ? 2 : value === 'm' ? 1 : 0;
}

/** Kconfig's tristate evaluation: n=0, m=1, y=2; && is min, || is max, ! is 2−x. */
export function evaluate(expr: Expr, values: ConfigValues): 0 | 1 | 2 {
  switch (expr.kind) {
    case 'const':
      return asTristate(expr.value);
    case 'symbol':
      return asTristate(values.get(expr.name) ?? 'n');
    case 'not':
      return (2 - evaluate(expr.operand, values)) as 0 | 1 | 2;
    case 'and':
      return Math.min(evaluate(expr.left, values), evaluate(expr.right, values)) as 0 | 1 | 2;
    case 'or':
      return Math.max(evaluate(expr.left, values), evaluate(expr.right, values)) as 0 | 1 | 2;
    case 'compare': {
      const a = valueOf(expr.left, values).replace(/^"|"$/g, '');
      const b = valueOf(expr.right, values).replace(/^"|"$/g, '');
      const numeric = /^-?(\d+|0x[0-9a-f]+)$/i.test(a) && /^-?(\d+|0x[0-9a-f]+)$/i.test(b);
      const cmp = numeric
        ? Number(a) - Number(b)
        : a in tristate && b in tristate
          ? asTristate(a) - asTristate(b)
          : a.localeCompare(b);
      const ok = {
        '=': cmp === 0,
        '!=': cmp !== 0,
        '<': cmp < 0,
        '<=': cmp <= 0,
        '>': cmp > 0,
        '>=': cmp >= 0,
      }[expr.op];
      return ok ? 2 : 0;
    }
  }
}

/** Symbols in an expression that make it fail: the leaves that are not set (or not equal) in `values`. */
export function unmetSymbols(expr: Expr, values: ConfigValues): string[] {
  if (evaluate(expr, values) > 0) return [];
  switch (expr.kind) {
    case 'symbol':
      return [expr.name];
    case 'const':
      return [];
    case 'not':
      return symbolsIn(expr.operand);
    case 'and':
      return [...unmetSymbols(expr.left, values), ...unmetSymbols(expr.right, values)];
    case 'or':
      return [...new Set([...unmetSymbols(expr.left, values), ...unmetSymbols(expr.right, values)])];
    case 'compare':
      return symbolsIn(expr);
  }
}

export function symbolsIn(expr: Expr): string[] {
  switch (expr.kind) {
    case 'symbol':
      return [expr.name];
    case 'const':
      return [];
    case 'not':
      return symbolsIn(expr.operand);
    default:
      return [...symbolsIn(expr.left), ...symbolsIn(expr.right)];
  }
}

// ---- the Kconfig tree --------------------------------------------------------------------------

export interface SymbolDefinition {
  name: string;
  file: string;
  line: number;
  type: string | null;
  /** Every condition the symbol needs: its `depends on` lines and those of the blocks around it. */
  conditions: string[];
  /** Symbols that `select` it (a select bypasses depends on). */
  selectedBy: string[];
}

export type KconfigIndex = Map<string, SymbolDefinition[]>;

/** Walks the tree from its top Kconfig, following `source`, with $(SRCARCH) set. */
export async function indexKconfig(sourceDir: string, srcArch = 'x86'): Promise<KconfigIndex> {
  const index: KconfigIndex = new Map();
  const selects: { from: string; target: string }[] = [];
  const seen = new Set<string>();

  const walk = async (relPath: string, outer: string[]): Promise<void> => {
    const path = relPath.replace(/\$\((SRCARCH|ARCH|HEADER_ARCH)\)/g, srcArch);
    if (seen.has(path)) return;
    seen.add(path);
    let text: string;
    try {
      text = await readFile(join(sourceDir, path), 'utf8');
    } catch {
      return; // osource of a missing file
    }
    const lines = text.replace(/\\\n/g, ' ').split('\n');
    // Each open block (if / menu / choice) and the conditions it adds.
    const blocks: { kind: 'if' | 'menu' | 'choice'; conditions: string[] }[] = [];
    let current: SymbolDefinition | null = null;
    let pendingBlock: { kind: 'menu' | 'choice'; conditions: string[] } | null = null;
    const context = () => [...outer, ...blocks.flatMap((b) => b.conditions)];

    for (let i = 0; i < lines.length; i += 1) {
      const line = lines[i]!.replace(/(^|\s)#.*$/, '').trim();
      if (line === '') continue;
      const [keyword = ''] = line.split(/\s+/, 1);
      const rest = line.slice(keyword.length).trim();
      switch (keyword) {
        case 'config':
        case 'menuconfig': {
          pendingBlock = null;
          current = {
            name: rest,
            file: path,
            line: i + 1,
            type: null,
            conditions: context(),
            selectedBy: [],
          };
          const list = index.get(rest) ?? [];
          list.push(current);
          index.set(rest, list);
          break;
        }
        case 'source':
        case 'osource':
        case 'rsource':
        case 'orsource': {
          current = null;
          pendingBlock = null;
          const target = rest.replace(/^"|"$/g, '');
          const resolved =
            keyword.startsWith('r') || keyword === 'orsource' ? join(path, '..', target) : target;
          await walk(resolved, context());
          break;
        }
        case 'if':
          current = null;
          pendingBlock = null;
          blocks.push({ kind: 'if', conditions: [rest] });
          break;
        case 'endif':
        case 'endmenu':
        case 'endchoice':
          current = null;
          pendingBlock = null;
          blocks.pop();
          break;
        case 'menu':
        case 'choice': {
          current = null;
          const block = { kind: keyword, conditions: [] as string[] };
          blocks.push(block);
          pendingBlock = block;
          break;
        }
        case 'depends':
          if (rest.startsWith('on ')) {
            const condition = rest.slice(3).trim();
            if (current) current.conditions.push(condition);
            else if (pendingBlock) pendingBlock.conditions.push(condition);
          }
          break;
        case 'bool':
        case 'tristate':
        case 'string':
        case 'hex':
        case 'int':
        case 'def_bool':
        case 'def_tristate':
          if (current) current.type = keyword.replace('def_', '');
          break;
        case 'select':
          if (current) selects.push({ from: current.name, target: rest.split(/\s+if\s+/)[0]!.trim() });
          break;
        case 'help':
        case '---help---': {
          // Skip the help text: it is indented deeper than the help keyword.
          const indent = /^\s*/.exec(lines[i]!)![0].replace(/\t/g, '        ').length;
          while (i + 1 < lines.length) {
            const nextLine = lines[i + 1]!;
            if (nextLine.trim() === '') {
              i += 1;
              continue;
            }
            const nextIndent = /^\s*/.exec(nextLine)![0].replace(/\t/g, '        ').length;
            if (nextIndent <= indent) break;
            i += 1;
          }
          break;
        }
        default:
          break;
      }
    }
  };

  await walk('Kconfig', []);
  for (const { from, target } of selects) {
    for (const def of index.get(target) ?? []) def.selectedBy.push(from);
  }
  return index;
}

export interface DropReason {
  /** The conditions that do not hold in the final config, as written in Kconfig. */
  unmet: { condition: string; symbols: { name: string; value: string }[] }[];
  definedAt: string | null;
  /** In every interface language (the Kernels view shows it); Kconfig expressions stay as written. */
  text: LocalText;
}

const L = (en: string, zh: string): LocalText => ({ en, 'zh-CN': zh });

/** The reasons' words; `{name}` placeholders are filled by `fmt`. */
export const dropTexts = {
  noSuchSymbol: L(
    "CONFIG_{name} does not exist in this kernel's Kconfig (misspelt, renamed, or for another architecture)",
    '这个内核的 Kconfig 里没有 CONFIG_{name}（拼写错误、已改名，或属于其他架构）',
  ),
  otherValue: L(
    'its dependencies hold, but kconfig chose another value{noPrompt} (a choice, a range or a select may override it)',
    '它的依赖都满足，但 kconfig 选了另一个值{noPrompt}（choice、range 或 select 可能覆盖了它）',
  ),
  noPrompt: L(
    ' (it has no prompt and is only selected by other options)',
    '（它没有提示项，只能由其他选项 select）',
  ),
  unmet: L('depends on {condition} — unmet: {symbols}', 'depends on {condition} —— 未满足：{symbols}'),
  notSet: L('{name} is not set', '{name} 未设置'),
  separator: L('; ', '；'),
  listSeparator: L(', ', '，'),
} satisfies Record<string, LocalText>;

/** Why a symbol did not end up with the requested value, in a sentence a kernel engineer would write. */
export function explainDrop(name: string, index: KconfigIndex, final: ConfigValues): DropReason {
  const defs = index.get(name);
  if (!defs || defs.length === 0) {
    return { unmet: [], definedAt: null, text: fmt(dropTexts.noSuchSymbol, { name }) };
  }
  const unmet: DropReason['unmet'] = [];
  for (const def of defs) {
    for (const condition of def.conditions) {
      let expr: Expr;
      try {
        expr = parseExpr(condition);
      } catch {
        continue;
      }
      if (evaluate(expr, final) === 0) {
        const symbols = [...new Set(unmetSymbols(expr, final))].map((s) => ({
          name: s,
          value: final.get(s) ?? 'n',
        }));
        unmet.push({ condition, symbols });
      }
    }
  }
  const def = defs[0]!;
  const definedAt = `${def.file}:${def.line}`;
  if (unmet.length === 0) {
    const noPrompt = def.type === null ? dropTexts.noPrompt : sameText('');
    return { unmet, definedAt, text: fmt(dropTexts.otherValue, { noPrompt }) };
  }
  const text = joinText(
    unmet.map((u) =>
      fmt(dropTexts.unmet, {
        condition: u.condition,
        symbols: joinText(
          u.symbols.map((s) =>
            s.value === 'n' ? fmt(dropTexts.notSet, { name: s.name }) : sameText(`${s.name}=${s.value}`),
          ),
          dropTexts.listSeparator,
        ),
      }),
    ),
    dropTexts.separator,
  );
  return { unmet, definedAt, text };
}
