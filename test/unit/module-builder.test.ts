import { describe, expect, it } from 'vitest';
import { compilerErrors, parseVermagic, vermagicProblem } from '../../electron/lab/kernel/module-builder';

describe('module builder helpers', () => {
  it('reads vermagic from a .modinfo section', () => {
    const modinfo =
      'license=GPL\0description=kdlab\0depends=\0retpoline=Y\0name=kdlab_null_deref\0vermagic=6.1.192 SMP mod_unload \0';
    expect(parseVermagic(modinfo)).toBe('6.1.192 SMP mod_unload');
    expect(parseVermagic('license=GPL\0')).toBeNull();
  });

  it('keeps only the compiler error lines of a kbuild run', () => {
    const out = [
      '  CC [M]  /w/bad.o',
      "/w/bad.c:7:9: error: 'undefined_thing' undeclared (first use in this function)",
      '/w/bad.c:7:9: note: each undeclared identifier is reported only once',
      'make[2]: *** [scripts/Makefile.build:250: /w/bad.o] Error 1',
    ].join('\n');
    expect(compilerErrors(out)).toEqual([
      "/w/bad.c:7:9: error: 'undefined_thing' undeclared (first use in this function)",
    ]);
  });

  it.each([
    ['6.1.192 SMP mod_unload ', '6.1.192', null],
    ['6.1.192 SMP mod_unload', '6.1.192', null],
    // A release that only starts with the kernel's is another release.
    [
      '6.1.192-dirty SMP mod_unload',
      '6.1.192',
      'it was built for "6.1.192-dirty SMP mod_unload", not for 6.1.192',
    ],
    ['6.1.19 SMP', '6.1.192', 'it was built for "6.1.19 SMP", not for 6.1.192'],
    [null, '6.1.192', 'it has no vermagic (not a kbuild module?)'],
  ])('vermagic %j against release %s', (vermagic, release, problem) => {
    expect(vermagicProblem(vermagic, release)).toBe(problem);
  });
});
