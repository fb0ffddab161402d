// Run-time switchable language; the choice is remembered.
import { en } from './en';
import type { Catalog, MessageKey } from './en';
import { zhCN } from './zh-CN';

export const languages = { en: 'English', 'zh-CN': '简体中文' } as const;
export type Language = keyof typeof languages;

const catalogs: Record<Language, Catalog> = { en, 'zh-CN': zhCN };
const storageKey = 'kdlab.language';

function initialLanguage(): Language {
  const saved = globalThis.localStorage?.getItem(storageKey);
  if (saved === 'en' || saved === 'zh-CN') return saved;
  return globalThis.navigator?.language?.toLowerCase().startsWith('zh') ? 'zh-CN' : 'en';
}

export class I18n {
  #language = $state<Language>(initialLanguage());

  get language(): Language {
    return this.#language;
  }

  set language(value: Language) {
    this.#language = value;
    globalThis.localStorage?.setItem(storageKey, value);
    if (globalThis.document) document.documentElement.lang = value;
  }

  t = (key: MessageKey, params: Record<string, string | number> = {}): string => {
    const text = catalogs[this.#language][key];
    return text.replace(/\{(\w+)\}/g, (_, name: string) => String(params[name] ?? `{${name}}`));
  };
}

export const i18n = new I18n();
