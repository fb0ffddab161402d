import { describe, expect, it } from 'vitest';
import { verifyConfig, parseFragment } from '../../electron/lab/kernel/config-verify';
import type { KconfigIndex } from '../../electron/lab/kernel/kconfig';
import {
  evaluate,
  explainDrop,
  parseConfig,
  parseExpr,
  dropTexts,
  unmetSymbols,
} from '../../electron/lab/kernel/kconfig';
import { expectTranslated } from '../helpers/local-text-checks';

const values = parseConfig(`
CONFIG_NET=y
CONFIG_NET_9P=m
CONFIG_HZ=250
CONFIG_CMDLINE="console=ttyS0"
# CONFIG_INET is not set
`);

describe('.config parsing', () => {
  it('reads set, module, numeric, string and unset options', () => {
    expect(values.get('NET')).toBe('y');
    expect(values.get('NET_9P')).toBe('m');
    expect(values.get('HZ')).toBe('250');
    expect(values.get('CMDLINE')).toBe('"console=ttyS0"');
    expect(values.get('INET')).toBe('n');
  });
});

describe('Kconfig expressions', () => {
  it.each([
    ['NET', 2],
    ['NET_9P', 1],
    ['INET', 0],
    ['INET && NET_9P', 0],
    ['NET && NET_9P', 1],
    ['INET || NET_9P', 1],
    ['!INET', 2],
    ['!NET_9P', 1],
    ['NET_9P=m && NET', 2],
    ['NET_9P=y || (NET && !INET)', 2],
    ['HZ >= 100', 2],
    ['HZ != 250', 0],
    ['UNKNOWN_SYMBOL', 0],
  ] as const)('%s → %d', (text, result) => {
    expect(evaluate(parseExpr(text), values)).toBe(result);
  });

  it('names the symbols that make a condition fail', () => {
    expect(unmetSymbols(parseExpr('INET && NET_9P'), values)).toEqual(['INET']);
    expect(unmetSymbols(parseExpr('NET && (INET || IPV6)'), values)).toEqual(['INET', 'IPV6']);
    expect(unmetSymbols(parseExpr('NET'), values)).toEqual([]);
  });
});

const index: KconfigIndex = new Map([
  [
    '9P_FS',
    [
      {
        name: '9P_FS',
        file: 'fs/9p/Kconfig',
        line: 2,
        type: 'tristate',
        conditions: ['NETWORK_FILESYSTEMS', 'INET && NET_9P'],
        selectedBy: [],
      },
    ],
  ],
  [
    'NETWORK_FILESYSTEMS',
    [
      {
        name: 'NETWORK_FILESYSTEMS',
        file: 'fs/Kconfig',
        line: 300,
        type: 'bool',
        conditions: ['NET'],
        selectedBy: [],
      },
    ],
  ],
]);

describe('dropped options', () => {
  it('explains a drop by its unmet depends on', () => {
    const final = parseConfig('CONFIG_NET=y\nCONFIG_NETWORK_FILESYSTEMS=y\nCONFIG_NET_9P=y\n');
    expect(explainDrop('9P_FS', index, final)).toMatchObject({
      definedAt: 'fs/9p/Kconfig:2',
      text: {
        en: 'depends on INET && NET_9P — unmet: INET is not set',
        'zh-CN': 'depends on INET && NET_9P —— 未满足：INET 未设置',
      },
    });
    expect(explainDrop('NO_SUCH', index, final).text).toEqual({
      en: "CONFIG_NO_SUCH does not exist in this kernel's Kconfig (misspelt, renamed, or for another architecture)",
      'zh-CN': '这个内核的 Kconfig 里没有 CONFIG_NO_SUCH（拼写错误、已改名，或属于其他架构）',
    });
    // Two unmet conditions: joined with Chinese punctuation.
    const two = parseConfig('CONFIG_NET=y\nCONFIG_NET_9P=m\n');
    expect(explainDrop('9P_FS', index, two).text['zh-CN']).toBe(
      'depends on NETWORK_FILESYSTEMS —— 未满足：NETWORK_FILESYSTEMS 未设置；depends on INET && NET_9P —— 未满足：INET 未设置',
    );
  });

  it.each(Object.entries(dropTexts))('reason text %s is in English and Chinese', (key, text) => {
    expectTranslated(text, key);
  });

  it('fails verification on a dropped option unless it is optional', () => {
    const final = parseConfig('CONFIG_NET=y\nCONFIG_NETWORK_FILESYSTEMS=y\nCONFIG_NET_9P=y\n');
    const strict = parseFragment('qemu-virt', 'CONFIG_NET_9P=y\nCONFIG_9P_FS=y\n');
    const result = verifyConfig([strict], final, index);
    expect(result.ok).toBe(false);
    expect(result.failures).toEqual([
      expect.objectContaining({
        option: '9P_FS',
        wanted: 'y',
        got: 'n',
        status: 'dropped',
        fragment: 'qemu-virt',
        reason: {
          en: expect.stringContaining('INET is not set'),
          'zh-CN': expect.stringContaining('INET 未设置'),
        },
      }),
    ]);
    const lenient = parseFragment(
      'qemu-virt',
      'CONFIG_NET_9P=y\n# kdlab:optional CONFIG_9P_FS\nCONFIG_9P_FS=y\n',
    );
    expect(verifyConfig([lenient], final, index)).toMatchObject({ ok: true, failures: [] });
  });

  it('lets a later fragment override an earlier one, as merge_config.sh does', () => {
    const final = parseConfig('CONFIG_NET=y\n');
    const result = verifyConfig(
      [parseFragment('a', 'CONFIG_NET=n\n'), parseFragment('b', 'CONFIG_NET=y\n')],
      final,
      index,
    );
    expect(result.checks).toEqual([expect.objectContaining({ option: 'NET', fragment: 'b', status: 'ok' })]);
  });
});
