// Checks that a LocalText is really translated: both languages present, the same placeholders, and
// Chinese that is not the English left as is — except for texts that are only a command line.
import { expect } from 'vitest';
import { placeholders } from '../../electron/common/local-text';
import type { LocalText } from '../../electron/common/local-text';

const han = /[\u4e00-\u9fff]/;

/** A shell command and nothing else: the same in every language. */
export function isPureCommand(text: string): boolean {
  return (
    /^(sudo |apt-get |apt |npm |docker |dockerd|kdlab |systemctl |usermod |chmod |modprobe |echo |mkdir |rm |df |id )/.test(
      text.trim(),
    ) && !/[.:;]\s+[A-Z]/.test(text)
  );
}

/** Only program or file names (`mkfs.ext4 / debugfs`, `gdb`): nothing to translate. */
export function isNamesOnly(text: string): boolean {
  return /^[a-z0-9_.\-/ ]+$/.test(text.trim());
}

export function expectTranslated(text: LocalText, label = text.en): void {
  expect(text.en.trim(), label).not.toBe('');
  expect(text['zh-CN'].trim(), label).not.toBe('');
  expect(placeholders(text['zh-CN']), label).toEqual(placeholders(text.en));
  if (isPureCommand(text.en) || isNamesOnly(text.en)) return;
  // Fragments such as ' ({cpu})' or ': {list}' have no words to translate.
  const words = text.en.replace(/\{\w+\}/g, '').match(/[A-Za-z]{2,}/g) ?? [];
  if (words.length < 2) return;
  expect(text['zh-CN'], label).not.toBe(text.en);
  expect(text['zh-CN'], label).toMatch(han);
}
