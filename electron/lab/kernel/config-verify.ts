// Config fragments and the check that every option they ask for is really in the final .config.
import { readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { LabError } from '../../common/errors';
import type { LocalText } from '../../common/local-text';
import { explainDrop, parseConfig } from './kconfig';
import type { ConfigValues, KconfigIndex } from './kconfig';

export interface Fragment {
  name: string;
  /** The fragment as merge_config.sh reads it. */
  text: string;
  options: ConfigValues;
  optional: Set<string>;
}

export function parseFragment(name: string, text: string): Fragment {
  const optional = new Set<string>();
  for (const match of text.matchAll(/^#\s*kdlab:optional\s+CONFIG_([A-Za-z0-9_]+)\s*$/gm))
    optional.add(match[1]!);
  return { name, text, options: parseConfig(text), optional };
}

export const builtinFragmentNames = [
  'tiny-x86_64',
  'kgdb',
  'kdump',
  'debuginfo',
  'qemu-virt',
  'modules',
] as const;

export async function loadBuiltinFragment(fragmentsDir: string, name: string): Promise<Fragment> {
  if (!(builtinFragmentNames as readonly string[]).includes(name)) {
    throw new LabError(
      'BAD_REQUEST',
      `Unknown config fragment "${name}".`,
      `kdlab ships: ${builtinFragmentNames.join(', ')}.`,
    );
  }
  return parseFragment(name, await readFile(join(fragmentsDir, `${name}.config`), 'utf8'));
}

export type OptionStatus = 'ok' | 'dropped' | 'changed';

export interface OptionCheck {
  option: string;
  fragment: string;
  wanted: string;
  got: string;
  status: OptionStatus;
  optional: boolean;
  /** Why kconfig did not keep it: the unmet `depends on`, in every interface language. */
  reason: LocalText | null;
  definedAt: string | null;
}

export interface ConfigVerification {
  ok: boolean;
  checks: OptionCheck[];
  /** Dropped or changed options that were not marked optional. */
  failures: OptionCheck[];
}

/** Compares what the fragments asked for (the last fragment wins, as in merge_config.sh) with the final .config. */
export function verifyConfig(
  fragments: Fragment[],
  final: ConfigValues,
  index: KconfigIndex,
): ConfigVerification {
  const wanted = new Map<string, { value: string; fragment: string; optional: boolean }>();
  for (const fragment of fragments) {
    for (const [option, value] of fragment.options) {
      wanted.set(option, { value, fragment: fragment.name, optional: fragment.optional.has(option) });
    }
  }
  const checks: OptionCheck[] = [];
  for (const [option, want] of wanted) {
    const got = final.get(option) ?? 'n';
    let status: OptionStatus = 'ok';
    if (got !== want.value) status = got === 'n' ? 'dropped' : 'changed';
    const explanation = status === 'ok' ? null : explainDrop(option, index, final);
    checks.push({
      option,
      fragment: want.fragment,
      wanted: want.value,
      got,
      status,
      optional: want.optional,
      reason: explanation?.text ?? null,
      definedAt: explanation?.definedAt ?? null,
    });
  }
  const failures = checks.filter((c) => c.status !== 'ok' && !c.optional);
  return { ok: failures.length === 0, checks, failures };
}

export function formatVerificationFailure(verification: ConfigVerification): string {
  return verification.failures
    .map(
      (c) =>
        `CONFIG_${c.option} (from ${c.fragment}): wanted ${c.wanted}, got ${c.got === 'n' ? 'not set' : c.got} — ${c.reason?.en ?? 'unknown reason'}`,
    )
    .join('\n');
}
