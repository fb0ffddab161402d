// Text the back end writes for people to read, in every interface language. It crosses the API as
// data so the renderer picks the language when it renders: switching language needs no refetch.
import { LabError } from './errors';

export const textLanguages = ['en', 'zh-CN'] as const;
export type TextLanguage = (typeof textLanguages)[number];

export type LocalText = Record<TextLanguage, string>;

/** A parameter of `fmt`: plain values go in as they are, localized ones in the matching language. */
export type TextParam = string | number | LocalText;

export function isLocalText(value: unknown): value is LocalText {
  return (
    typeof value === 'object' &&
    value !== null &&
    typeof (value as Record<string, unknown>).en === 'string' &&
    typeof (value as Record<string, unknown>)['zh-CN'] === 'string'
  );
}

/** The same text in every language: paths, commands, values that are not words. */
export function sameText(text: string): LocalText {
  return { en: text, 'zh-CN': text };
}

/** Fills `{name}` placeholders in both languages; a missing parameter is left visible as `{name}`. */
export function fmt(template: LocalText, params: Record<string, TextParam> = {}): LocalText {
  const fill = (lang: TextLanguage): string =>
    template[lang].replace(/\{(\w+)\}/g, (whole, name: string) => {
      const v = params[name];
      if (v === undefined) return whole;
      return typeof v === 'object' ? v[lang] : String(v);
    });
  return { en: fill('en'), 'zh-CN': fill('zh-CN') };
}

/** Joins localized pieces (Chinese needs no space where English does: pass both separators). */
export function joinText(parts: LocalText[], sep: LocalText = { en: '', 'zh-CN': '' }): LocalText {
  return {
    en: parts.map((p) => p.en).join(sep.en),
    'zh-CN': parts.map((p) => p['zh-CN']).join(sep['zh-CN']),
  };
}

/** The placeholders a template uses, for tests that both languages take the same ones. */
export function placeholders(text: string): string[] {
  return [...new Set([...text.matchAll(/\{(\w+)\}/g)].map((m) => m[1]!))].sort();
}

/** The CLI's language: `--lang` when given, else zh-CN when LC_ALL/LC_MESSAGES/LANG say Chinese, else English. */
export function cliLanguage(flag: string | undefined, env: Record<string, string | undefined>): TextLanguage {
  if (flag !== undefined) {
    const f = flag.toLowerCase().replace('_', '-');
    if (f === 'en' || f.startsWith('en-')) return 'en';
    if (f === 'zh' || f.startsWith('zh-')) return 'zh-CN';
    throw new LabError('BAD_REQUEST', `Unknown language "${flag}".`, 'Use --lang en or --lang zh-CN.');
  }
  const locale = env.LC_ALL || env.LC_MESSAGES || env.LANG || '';
  return locale.toLowerCase().startsWith('zh') ? 'zh-CN' : 'en';
}

/** A job's title in `language`: its localized title when it has one (jobs started from the UI). */
export function jobTitle(job: { title: string; titleText?: LocalText }, language: TextLanguage): string {
  return job.titleText?.[language] ?? job.title;
}
