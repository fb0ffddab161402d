// The Analyzer view's decoder on real logs: the seed write-ups' pastes decoded by the real decoder,
// shown with the exit status, the explanation and the next steps.
import { fireEvent, render, screen, within } from '@testing-library/svelte';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import type { ApiMethod, LabApi } from '../../electron/common/api';
import { LabError } from '../../electron/common/errors';
import { decodeText } from '../../electron/lab/analyze/decoder';
import AnalyzerView from '../../renderer/src/views/AnalyzerView.svelte';

const fixture = (name: string) => readFileSync(join(process.cwd(), 'test/fixtures', name), 'utf8');

function fakeApi(): LabApi {
  const answers: Partial<Record<ApiMethod, (args: { text?: string }) => unknown>> = {
    'kernels.list': () => [],
    'vms.list': () => [],
    'vmcores.list': () => [],
    'decoder.decode': (args) => decodeText(args.text ?? ''),
  };
  return {
    invoke: (async (method: ApiMethod, args: { text?: string }) => {
      const answer = answers[method];
      if (!answer) throw new LabError('UNKNOWN_METHOD', method);
      return answer(args);
    }) as LabApi['invoke'],
    on: () => () => undefined,
  };
}

describe('Analyzer view: decoder', () => {
  it('decodes the seed 001 log: exitcode=0x00007f00 is exit(127), with causes and next steps', async () => {
    render(AnalyzerView, { api: fakeApi() });
    await fireEvent.input(screen.getByTestId('decoder-input'), {
      target: { value: fixture('panic-logs/seed001-systemd-exitcode-7f00.log') },
    });
    await fireEvent.click(screen.getByRole('button', { name: 'Decode' }));
    const card = (await screen.findAllByTestId('decoded-report'))[0]!;
    expect(within(card).getByText(/exit\(127\)/)).toBeTruthy();
    expect(card.textContent).toContain('0x00007f00');
    expect(within(card).getByText('Likely causes')).toBeTruthy();
    expect(within(card).getByText('Next steps')).toBeTruthy();
  });

  it('decodes the flattened NULL dereference of seed 002 with its fault address, task and taint', async () => {
    render(AnalyzerView, { api: fakeApi() });
    await fireEvent.input(screen.getByTestId('decoder-input'), {
      target: { value: fixture('panic-logs/seed002-flattened-null-deref-0x74.log') },
    });
    await fireEvent.click(screen.getByRole('button', { name: 'Decode' }));
    const card = (await screen.findAllByTestId('decoded-report'))[0]!;
    expect(card.textContent).toMatch(/null-deref/);
    expect(card.textContent).toMatch(/0x0*74/);
    expect(card.textContent).toContain('AliYunDun (pid 1362) · CPU 5');
    expect(card.textContent).toMatch(/O: [^;]*out-of-tree/i);
  });

  it('says how many reports a log holds, and shows an empty library plainly', async () => {
    render(AnalyzerView, { api: fakeApi() });
    expect(await screen.findByText(/No vmcores yet/)).toBeTruthy();
    await fireEvent.input(screen.getByTestId('decoder-input'), {
      target: { value: 'nothing to see here\n' },
    });
    await fireEvent.click(screen.getByRole('button', { name: 'Decode' }));
    expect((await screen.findByTestId('decoder-count')).textContent).toContain('0 report(s)');
  });
});
