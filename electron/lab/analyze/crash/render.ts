// The crash report as Markdown or a self-contained HTML page. Pure: the renderer uses it for exports.
import type { CrashException, CrashReport, CrashTaint, TaintFlag } from './types';

/** `G O (tainted_mask 0x1000)`, or `not tainted`. */
export function describeTaint(t: CrashTaint): string {
  const mask = t.mask !== null ? ` (tainted_mask 0x${t.mask})` : '';
  return t.flags ? `${t.flags}${mask}` : `not tainted${mask}`;
}

const flagList = (flags: TaintFlag[]) => flags.map((f) => `${f.flag}: ${f.meaning}`).join('; ');

/** The card's facts beyond crash's `sys`: the panic log's Oops line, RIP, fault address, taint. */
function crashFacts(r: CrashReport): [string, string][] {
  const s = r.summary;
  const facts: [string, string | null][] = [
    ['Oops', s.oops],
    ['Faulting RIP', s.rip],
    ['Fault address', s.faultAddress],
    ['crash PANIC', s.panic !== null && s.panic !== s.headline ? s.panic : null],
    ['Taint', s.taint ? describeTaint(s.taint) : null],
  ];
  return facts.filter((f): f is [string, string] => f[1] !== null);
}

/** The exception line, saying so when the fault is in a module's init code (no symbols there). */
export function describeException(e: CrashException): string {
  if (e.inModuleInit)
    return `exception RIP ${e.rip} (in the init code of module ${e.module ?? '?'}, offset ${e.offset ?? '?'})`;
  return `exception RIP ${e.rip}${e.module ? ` (module ${e.module})` : ''}`;
}

export function renderMarkdown(r: CrashReport): string {
  const s = r.summary;
  const lines = [
    `# Crash report: ${s.headline ?? s.panic ?? 'no panic string'}`,
    '',
    ...(r.warnings.length ? [...r.warnings.map((w) => `> **Warning:** ${w}`), ''] : []),
    `| | |`,
    `|---|---|`,
    ...(
      [
        ['Kernel', `${s.release ?? ''} ${s.version ?? ''}`],
        ['Machine', `${s.machine ?? ''}, ${s.cpus ?? '?'} CPUs, ${s.memory ?? ''}`],
        ['Date / uptime', `${s.date ?? ''} / ${s.uptime ?? ''}`],
        ['Task', `${s.command ?? ''} (pid ${s.pid ?? '?'}) on CPU ${s.cpu ?? '?'}, ${s.state ?? ''}`],
        ...crashFacts(r),
        ['vmcore', r.vmcore],
        ['vmlinux', r.vmlinux],
      ] as const
    ).map(([k, v]) => `| ${k} | ${v.replace(/\|/g, '\\|')} |`),
    '',
    ...(s.taint?.decoded.length
      ? [
          `## Taint: ${describeTaint(s.taint)}, from the ${s.taint.source === 'log' ? "panicking CPU's Tainted: line" : "dump's tainted_mask (crash sys -t)"}`,
          '',
          ...s.taint.decoded.map((f) => `- **${f.flag}**: ${f.meaning}`),
          '',
        ]
      : []),
    `## Backtrace (pid ${r.backtrace.pid ?? '?'}, ${r.backtrace.command ?? ''})`,
    '',
    '| # | function | address | source |',
    '|---|---|---|---|',
    ...r.backtrace.frames.map(
      (f) =>
        `| ${f.index} | \`${f.function}\`${f.exception ? ` — ${describeException(f.exception)}` : ''} | ${f.address ?? ''} | ${f.file ? `${f.file}:${f.line}` : ''} |`,
    ),
    '',
    ...(r.disassembly ? ['## Faulting function (dis -l)', '', '```', r.disassembly, '```', ''] : []),
    ...(r.cpus.length > 1
      ? [
          '## Other CPUs (bt -a)',
          '',
          ...r.cpus.map(
            (b) =>
              `- CPU ${b.cpu ?? '?'}: ${b.command ?? '?'} (pid ${b.pid ?? '?'}) in \`${b.frames[0]?.function ?? '?'}\``,
          ),
          '',
        ]
      : []),
    '## Panic excerpt of the log',
    '',
    '```',
    ...r.log.filter((l) => l.panic).map((l) => `[${l.timestamp?.toFixed(6) ?? ''}] ${l.text}`),
    '```',
    '',
    '## Processes',
    '',
    '| | pid | ppid | cpu | state | comm |',
    '|---|---|---|---|---|---|',
    ...r.processes.map(
      (p) => `| ${p.active ? '>' : ''} | ${p.pid} | ${p.ppid} | ${p.cpu} | ${p.state} | ${p.comm} |`,
    ),
    '',
    '## Modules',
    '',
    r.modules.length
      ? r.modules
          .map(
            (m) =>
              `- ${m.name} at ${m.base}, ${m.size} bytes${m.taint ? `, taint ${m.taint} (${flagList(m.taintFlags)})` : ''}`,
          )
          .join('\n')
      : '(none loaded)',
    '',
  ];
  return lines.join('\n');
}

const escapeHtml = (s: string) =>
  s.replace(/[&<>"']/g, (c) => ({ '&': '&amp;', '<': '&lt;', '>': '&gt;', '"': '&quot;', "'": '&#39;' })[c]!);

/** A self-contained page: inline CSS, no scripts, no external assets. */
export function renderHtml(r: CrashReport): string {
  const s = r.summary;
  const row = (cells: string[]) => `<tr>${cells.map((c) => `<td>${escapeHtml(c)}</td>`).join('')}</tr>`;
  const facts = crashFacts(r).map(row).join('');
  return `<!doctype html>
<html lang="en"><head><meta charset="utf-8"><title>${escapeHtml(`Crash report: ${s.headline ?? s.panic ?? ''}`)}</title>
<style>body{font:14px system-ui,sans-serif;margin:2rem;max-width:70rem}table{border-collapse:collapse;margin:.5rem 0 1.5rem}td,th{border-bottom:1px solid #ddd;padding:.2rem .6rem;text-align:left}code,pre{font-family:ui-monospace,monospace}pre{background:#f5f5f5;padding:.8rem;overflow:auto}.panic{color:#a00;font-weight:600}.active{font-weight:700}</style>
</head><body>
<h1 class="panic">${escapeHtml(s.headline ?? s.panic ?? 'no panic string')}</h1>
${r.warnings.map((w) => `<p class="panic">Warning: ${escapeHtml(w)}</p>`).join('')}
<table>${row(['Kernel', `${s.release ?? ''} ${s.version ?? ''}`])}${row(['Machine', `${s.machine ?? ''}, ${s.cpus ?? '?'} CPUs, ${s.memory ?? ''}`])}${row(['Task', `${s.command ?? ''} (pid ${s.pid ?? '?'}) on CPU ${s.cpu ?? '?'}`])}${facts}${row(['Date / uptime', `${s.date ?? ''} / ${s.uptime ?? ''}`])}${row(['vmcore', r.vmcore])}${row(['vmlinux', r.vmlinux])}</table>
${s.taint?.decoded.length ? `<h2>Taint: ${escapeHtml(describeTaint(s.taint))}</h2><ul>${s.taint.decoded.map((f) => `<li><code>${escapeHtml(f.flag)}</code>: ${escapeHtml(f.meaning)}</li>`).join('')}</ul>` : ''}
<h2>Backtrace</h2>
<table><tr><th>#</th><th>function</th><th>address</th><th>source</th></tr>${r.backtrace.frames.map((f) => row([String(f.index), f.function + (f.exception ? ` — ${describeException(f.exception)}` : ''), f.address ?? '', f.file ? `${f.file}:${f.line}` : ''])).join('')}</table>
${r.disassembly ? `<h2>Faulting function (dis -l)</h2><pre>${escapeHtml(r.disassembly)}</pre>` : ''}
<h2>Panic excerpt of the log</h2>
<pre>${escapeHtml(
    r.log
      .filter((l) => l.panic)
      .map((l) => `[${l.timestamp?.toFixed(6) ?? ''}] ${l.text}`)
      .join('\n'),
  )}</pre>
<h2>Processes</h2>
<table><tr><th></th><th>pid</th><th>ppid</th><th>cpu</th><th>state</th><th>comm</th></tr>${r.processes.map((p) => row([p.active ? '>' : '', String(p.pid), String(p.ppid), String(p.cpu), p.state, p.comm])).join('')}</table>
<h2>Modules</h2>
<table>${r.modules.map((m) => row([m.name, m.base, String(m.size), m.taint ? `${m.taint} (${flagList(m.taintFlags)})` : ''])).join('') || row(['(none loaded)'])}</table>
</body></html>
`;
}
