// The doctor's words in both interface languages: every title, detail, purpose and fix that is not a
// bare command has real Simplified Chinese with the same placeholders, and so do the KVM probe's
// verdicts and the VM accelerator reasons built from them.
import { describe, expect, it } from 'vitest';
import { fmt } from '../../electron/common/local-text';
import type { LocalText } from '../../electron/common/local-text';
import { checkDefinitions, checkTitles, doctorTexts, toolPurposes } from '../../electron/lab/doctor/checks';
import { kvmProbeTexts } from '../../electron/lab/doctor/kvm-probe';
import { accelTexts } from '../../electron/lab/vm/vm-runner';
import { expectTranslated } from '../helpers/local-text-checks';

const tables: Record<string, Record<string, LocalText>> = {
  doctorTexts,
  checkTitles,
  toolPurposes,
  kvmProbeTexts,
  accelTexts,
};
const entries = Object.entries(tables).flatMap(([table, texts]) =>
  Object.entries(texts).map(([key, text]): [string, LocalText] => [`${table}.${key}`, text]),
);

describe('doctor texts in English and Chinese', () => {
  it.each(entries)('%s', (key, text) => {
    expectTranslated(text, key);
  });

  it('every check has a title in both languages, and every title is used', () => {
    const ids = checkDefinitions.map((d) => d.id).sort();
    expect(Object.keys(checkTitles).sort()).toEqual(ids);
    for (const d of checkDefinitions) expect(d.title).toBe(checkTitles[d.id as keyof typeof checkTitles]);
  });

  it('the check refuses text left in English, but lets commands and names through', () => {
    expect(() => expectTranslated({ en: 'Kernel sources', 'zh-CN': 'Kernel sources' })).toThrow();
    expect(() => expectTranslated({ en: 'a {x} b', 'zh-CN': '甲 {y} 乙' })).toThrow();
    expectTranslated({ en: 'sudo apt-get install -y crash', 'zh-CN': 'sudo apt-get install -y crash' });
    expectTranslated({ en: 'mkfs.ext4 / debugfs', 'zh-CN': 'mkfs.ext4 / debugfs' });
  });

  it('a KVM verdict reads naturally in both languages once composed', () => {
    const reason = fmt(accelTexts.tcgFallback, { detail: kvmProbeTexts.silent });
    expect(reason.en).toBe(
      'TCG, because KVM does not work with this kernel here: the guest printed nothing before the timeout (it hangs under KVM)',
    );
    expect(reason['zh-CN']).toBe(
      '使用 TCG，因为 KVM 在这台机器上无法运行这个内核：客户机在超时之前没有任何输出（它在 KVM 下卡住了）',
    );
  });
});
