// The Decoder's input and results, kept for the whole session (one instance for the app), so going
// to another view and back finds the log, the chosen vmlinux and the decoded reports as they were.
import type { LabApi } from '../../../../electron/common/api';
import type { LabErrorData } from '../../../../electron/common/errors';
import type { DecodedReport, KernelSummary } from '../../../../electron/common/types';
import { asErrorData } from '../files';
import type { HostFile } from '../files';
import { i18n } from '../i18n/i18n.svelte';

/** Where file:line and the disassembly come from: nothing, a kernel built here, or a chosen file. */
export type VmlinuxChoice =
  { kind: 'none' } | { kind: 'kernel'; key: string } | { kind: 'file'; file: HostFile };

/** What the decoder API takes in one message. */
export const maxLogChars = 3 * 1024 * 1024;

/** The vmlinux path of a built kernel (null when the build has none left on disk). */
export function vmlinuxOf(kernel: KernelSummary | undefined): string | null {
  return kernel?.artifacts.find((a) => a.name === 'vmlinux')?.path ?? null;
}

export class DecoderState {
  text = $state('');
  /** The file the text came from (dropped, opened), if any. */
  source = $state<string | null>(null);
  vmlinux = $state<VmlinuxChoice>({ kind: 'none' });
  reports = $state<DecodedReport[] | null>(null);
  error = $state<LabErrorData | null>(null);
  decoding = $state(false);

  /** Decodes the text with the chosen vmlinux (a kernel's is looked up in `kernels`). */
  async decode(api: LabApi, kernels: KernelSummary[]): Promise<void> {
    this.error = null;
    this.reports = null;
    if (this.text.length > maxLogChars) {
      this.error = { code: 'BAD_REQUEST', message: i18n.t('decoder.tooBig'), hint: 'kdlab decode FILE' };
      return;
    }
    const choice = this.vmlinux;
    let vmlinux: string | null = null;
    if (choice.kind === 'kernel') {
      vmlinux = vmlinuxOf(kernels.find((k) => k.key === choice.key));
      // A view that just opened (a log dropped elsewhere) may not have its kernel list yet.
      if (!vmlinux)
        vmlinux = vmlinuxOf(
          (await api.invoke('kernels.list', {}).catch(() => [])).find((k) => k.key === choice.key),
        );
      if (!vmlinux) {
        this.error = {
          code: 'NOT_FOUND',
          message: i18n.t('decoder.kernelGone', { key: choice.key.slice(0, 12) }),
          hint: i18n.t('decoder.kernelGoneHint'),
        };
        return;
      }
    } else if (choice.kind === 'file') vmlinux = choice.file.path;
    this.decoding = true;
    try {
      this.reports = await api.invoke('decoder.decode', { text: this.text, ...(vmlinux ? { vmlinux } : {}) });
    } catch (e) {
      this.error = asErrorData(e);
    } finally {
      this.decoding = false;
    }
  }
}

export const decoderState = new DecoderState();
