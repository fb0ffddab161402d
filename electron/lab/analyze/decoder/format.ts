// Human-readable output of decoded reports: the explanation first, then the facts, the call trace
// (with source lines once symbolized) and the disassembled Code: bytes.
import type { TextLanguage } from '../../../common/local-text';
import type { DecodedReport, Frame, SourceLocation } from './types';

function sym(f: {
  function: string | null;
  offset: string | null;
  length: string | null;
  module: string | null;
}): string {
  if (!f.function) return '?';
  const off = f.offset ? `+${f.offset}${f.length ? `/${f.length}` : ''}` : '';
  return `${f.function}${off}${f.module ? ` [${f.module}]` : ''}`;
}

function where(source: SourceLocation[] | undefined): string[] {
  if (!source?.length) return [];
  return source.map(
    (s) => `${s.inlined ? '(inlined) ' : ''}${s.function} at ${s.file}${s.line !== null ? `:${s.line}` : ''}`,
  );
}

function frameLine(f: Frame): string[] {
  const lines = [`  ${f.reliable ? '' : '? '}${sym(f)}`];
  for (const w of where(f.source)) lines.push(`      ${w}`);
  return lines;
}

// The explanation is printed in the chosen language; the facts below it stay as the kernel printed them.
const headings = {
  en: {
    causes: 'Likely causes:',
    next: 'Next steps:',
    none: 'No kernel crash, oops, warning or panic report found in this log.',
  },
  'zh-CN': {
    causes: '可能的原因：',
    next: '下一步：',
    none: '这份日志里没有找到内核崩溃、oops、警告或 panic 报告。',
  },
} satisfies Record<TextLanguage, Record<string, string>>;

export function formatReport(
  r: DecodedReport,
  index: number,
  total: number,
  lang: TextLanguage = 'en',
): string {
  const out: string[] = [];
  const head = `Report ${index + 1} of ${total}: ${r.kind}${r.panic ? ' → panic' : ''} (lines ${r.lines.first}–${r.lines.last})`;
  out.push(head, '='.repeat(Math.min(head.length, 100)));
  out.push(r.explanation.summary[lang], '');
  if (r.explanation.likelyCauses.length) {
    out.push(headings[lang].causes);
    for (const c of r.explanation.likelyCauses) out.push(`  - ${c[lang]}`);
  }
  if (r.explanation.nextSteps.length) {
    out.push(headings[lang].next);
    for (const s of r.explanation.nextSteps) out.push(`  - ${s[lang]}`);
  }
  out.push('', `Headline: ${r.title}`);
  const facts: [string, string | null][] = [
    ['Panic', r.panicMessage],
    [
      'Task',
      r.comm !== null || r.pid !== null
        ? `${r.comm ?? '?'} (PID ${r.pid ?? '?'})${r.cpu !== null ? ` on CPU ${r.cpu}` : ''}`
        : null,
    ],
    ['Kernel', r.kernelRelease ? `${r.kernelRelease}${r.arch ? ` (${r.arch})` : ''}` : r.arch],
    [
      'Tainted',
      r.tainted
        ? `${r.tainted} — ${
            r.taintFlags
              .filter((f) => f.flag !== 'G')
              .map((f) => `${f.flag}: ${f.meaning}`)
              .join('; ') || 'no taint'
          }`
        : null,
    ],
    ['Faulting address', r.faultingAddress],
    ['Site', r.function || r.address ? (r.function ? sym(r) : r.address) : null],
    ['Oops', r.oops],
    [
      'Exit code',
      r.exitCode
        ? `${r.exitCode} = ${r.exitStatus && 'exited' in r.exitStatus ? `exited with status ${r.exitStatus.exited}` : r.exitStatus ? `killed by ${r.exitStatus.signalName}${r.exitStatus.coreDumped ? ' (core dumped)' : ''}` : '?'}`
        : null,
    ],
    [
      'Init',
      r.initFailure
        ? `${r.initFailure.path ?? 'init'}: ${r.initFailure.errnoName} (${r.initFailure.meaning})`
        : null,
    ],
    [
      'OOM victims',
      r.oom?.victims.length
        ? r.oom.victims
            .slice(0, 8)
            .map((v) => `${v.comm}[${v.pid}]`)
            .join(', ') + (r.oom.victims.length > 8 ? ', …' : '')
        : null,
    ],
  ];
  for (const [k, v] of facts) if (v) out.push(`${`${k}:`.padEnd(18)}${v}`);
  for (const w of where(r.source)) out.push(`${''.padEnd(18)}${w}`);
  const s = r.userSegfault;
  if (s) {
    out.push(
      `${'Segfault:'.padEnd(18)}ip ${s.ip}${s.object ? ` in ${s.object} (base ${s.base ?? '?'}, offset ${s.offsetInObject ?? '?'}${s.fileOffset ? `, file offset ${s.fileOffset}` : ''})` : ''}`,
    );
    if (s.errorDecoded) out.push(`${''.padEnd(18)}error ${s.error ?? ''}: ${s.errorDecoded}`);
  }
  if (r.callTrace.length) {
    out.push('', 'Call trace:');
    for (const f of r.callTrace.slice(0, 60)) out.push(...frameLine(f));
    if (r.callTrace.length > 60) out.push(`  … ${r.callTrace.length - 60} more frames`);
  }
  if (r.code) {
    out.push('', `Code (${r.code.context}): ${r.code.text}`);
    if (r.code.note) out.push(`  note: ${r.code.note}`);
    if (r.code.disassembly?.length) {
      for (const l of r.code.disassembly)
        out.push(
          `  ${l.trapping ? '=>' : '  '} ${l.address.padStart(6)}: ${l.bytes.padEnd(24)} ${l.instruction}${l.trapping ? '   <-- trapping instruction' : ''}`,
        );
    }
  }
  for (const n of r.notes) out.push(`note: ${n}`);
  return out.join('\n');
}

export function formatReports(reports: DecodedReport[], lang: TextLanguage = 'en'): string {
  if (reports.length === 0) return `${headings[lang].none}\n`;
  return `${reports.map((r, i) => formatReport(r, i, reports.length, lang)).join('\n\n')}\n`;
}
