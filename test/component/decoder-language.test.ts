// The Decoder view renders the back end's explanation in the interface language: switching to
// Simplified Chinese after decoding shows the Chinese text at once, without decoding again.
import { fireEvent, render, screen } from '@testing-library/svelte';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { tick } from 'svelte';
import { afterEach, describe, expect, it } from 'vitest';
import type { ApiMethod, LabApi } from '../../electron/common/api';
import { LabError } from '../../electron/common/errors';
import { decodeText } from '../../electron/lab/analyze/decoder';
import { i18n } from '../../renderer/src/lib/i18n/i18n.svelte';
import { DecoderState } from '../../renderer/src/lib/state/decoder.svelte';
import DecoderView from '../../renderer/src/views/DecoderView.svelte';

const fixture = (name: string) => readFileSync(join(process.cwd(), 'test/fixtures', name), 'utf8');

function countingApi(): { api: LabApi; decodes: () => number } {
  let decodes = 0;
  const answers: Partial<Record<ApiMethod, (args: { text?: string }) => unknown>> = {
    'kernels.list': () => [],
    'vms.list': () => [],
    'vmcores.list': () => [],
    'decoder.decode': (args) => {
      decodes++;
      return decodeText(args.text ?? '');
    },
  };
  const api: LabApi = {
    invoke: (async (method: ApiMethod, args: { text?: string }) => {
      const answer = answers[method];
      if (!answer) throw new LabError('UNKNOWN_METHOD', method);
      return answer(args);
    }) as LabApi['invoke'],
    on: () => () => undefined,
  };
  return { api, decodes: () => decodes };
}

describe('Decoder view: the explanation follows the interface language', () => {
  afterEach(() => {
    i18n.language = 'en';
  });

  it('seed 001 (exit 127): English, then Chinese after switching, with one decode', async () => {
    i18n.language = 'en';
    const { api, decodes } = countingApi();
    render(DecoderView, { api, decoder: new DecoderState() });
    await fireEvent.input(screen.getByTestId('decoder-input'), {
      target: { value: fixture('panic-logs/seed001-systemd-exitcode-7f00.log') },
    });
    await fireEvent.click(screen.getByRole('button', { name: 'Decode' }));
    const card = (await screen.findAllByTestId('decoded-report'))[0]!;
    expect(card.querySelector('.summary')!.textContent).toContain('exited with status 127');
    expect(card.textContent).toContain('"command not found"');

    i18n.language = 'zh-CN';
    await tick();
    expect(card.querySelector('.summary')!.textContent).toBe(
      'PID 1（systemd）以退出状态 127 退出；init 绝不能退出，所以内核 panic 了。',
    );
    expect(card.textContent).toContain('状态 127 是 shell 的“command not found”（找不到命令）');
    expect(card.textContent).toContain('对照镜像内容检查 /init 的 #! 行');
    expect(card.textContent).not.toContain('exited with status 127');
    expect(decodes()).toBe(1);
  });
});
