// The decoder's knowledge base in both interface languages: every text of the table has real
// Simplified Chinese (not empty, not the English left as is, the same placeholders), and every report
// decoded from the fixture logs carries a complete explanation in both languages.
import { readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { cliLanguage, fmt } from '../../electron/common/local-text';
import type { LocalText } from '../../electron/common/local-text';
import { decodeText, formatReports } from '../../electron/lab/analyze/decoder';
import { errnoMeaningsZh, texts } from '../../electron/lab/analyze/decoder/knowledge';
import { errnoTable } from '../../electron/lab/analyze/decoder/tables';
import { expectTranslated } from '../helpers/local-text-checks';

const fixtures = join(__dirname, '..', 'fixtures');
const han = /[\u4e00-\u9fff]/;

function fixtureLogs(): [string, string][] {
  const out: [string, string][] = [];
  for (const dir of ['panic-logs', 'real-logs', 'lab-logs'])
    for (const name of readdirSync(join(fixtures, dir)))
      if (!name.endsWith('.json') && !name.endsWith('.md'))
        out.push([`${dir}/${name}`, readFileSync(join(fixtures, dir, name), 'utf8')]);
  return out;
}

describe('decoder knowledge base: every text in English and Chinese', () => {
  const entries: [string, LocalText][] = Object.entries(texts);

  it('has texts to check', () => {
    expect(entries.length).toBeGreaterThan(100);
  });

  it.each(entries)('%s', (key, text) => {
    expectTranslated(text, key);
  });

  it('names every errno of the table in Chinese', () => {
    for (const [name] of Object.values(errnoTable)) expect(errnoMeaningsZh[name], name).toMatch(han);
  });
});

describe('decoder explanations of the fixture logs, in both languages', () => {
  const logs = fixtureLogs();

  it('has logs with reports', () => {
    expect(logs.length).toBeGreaterThan(20);
  });

  it.each(logs)('%s', (_name, log) => {
    for (const r of decodeText(log)) {
      const all = [r.explanation.summary, ...r.explanation.likelyCauses, ...r.explanation.nextSteps];
      expect(r.explanation.summary.en, r.title).not.toBe('');
      for (const text of all) {
        expect(text['zh-CN'], text.en).toMatch(han);
        expect(text['zh-CN']).not.toBe(text.en);
        // A placeholder left unfilled would show as {name} to the student.
        expect(text.en).not.toMatch(/\{[a-zA-Z]+\}/);
        expect(text['zh-CN']).not.toMatch(/\{[a-zA-Z]+\}/);
      }
    }
  });

  it('seed 001 (exitcode=0x00007f00): the Chinese explanation says exit status 127 and command not found', () => {
    const [r] = decodeText(
      readFileSync(join(fixtures, 'panic-logs/seed001-systemd-exitcode-7f00.log'), 'utf8'),
    );
    expect(r!.explanation.summary['zh-CN']).toContain('以退出状态 127 退出');
    expect(r!.explanation.likelyCauses.map((c) => c['zh-CN']).join('\n')).toContain('找不到命令');
  });

  it('seed 002 (NULL + 0x74): the Chinese summary keeps the address, the site and the offset', () => {
    const [r] = decodeText(
      readFileSync(join(fixtures, 'panic-logs/seed002-flattened-null-deref-0x74.log'), 'utf8'),
    );
    expect(r!.explanation.summary['zh-CN']).toMatch(
      /^内核读写了地址 0x0*74（地址 0xffffffffc02d74c0）：这是 NULL 结构体指针加上成员偏移 0x74。$/,
    );
  });

  it('kdlab decode text output: English by default, Chinese when asked', () => {
    const reports = decodeText(
      readFileSync(join(fixtures, 'panic-logs/seed001-systemd-exitcode-7f00.log'), 'utf8'),
    );
    const en = formatReports(reports);
    expect(en).toContain('Likely causes:');
    expect(en).not.toMatch(han);
    const zh = formatReports(reports, 'zh-CN');
    expect(zh).toContain('可能的原因：');
    expect(zh).toContain(reports[0]!.explanation.summary['zh-CN']);
    expect(formatReports([], 'zh-CN')).toMatch(/^这份日志里没有找到/);
  });
});

describe('local text helpers', () => {
  it('fmt fills both languages, localized parameters in their own language', () => {
    const out = fmt(
      { en: 'a {x} b {y} {missing}', 'zh-CN': '甲 {x} 乙 {y} {missing}' },
      { x: 1, y: { en: 'one', 'zh-CN': '一' } },
    );
    expect(out).toEqual({ en: 'a 1 b one {missing}', 'zh-CN': '甲 1 乙 一 {missing}' });
  });

  it('cliLanguage: --lang first, then LC_ALL / LC_MESSAGES / LANG, else English', () => {
    expect(cliLanguage(undefined, {})).toBe('en');
    expect(cliLanguage(undefined, { LANG: 'zh_CN.UTF-8' })).toBe('zh-CN');
    expect(cliLanguage(undefined, { LANG: 'zh_CN.UTF-8', LC_ALL: 'C' })).toBe('en');
    expect(cliLanguage('zh-CN', { LANG: 'C.UTF-8' })).toBe('zh-CN');
    expect(cliLanguage('zh_CN', {})).toBe('zh-CN');
    expect(cliLanguage('en', { LANG: 'zh_CN.UTF-8' })).toBe('en');
    expect(() => cliLanguage('fr', {})).toThrow(/Unknown language/);
  });
});
