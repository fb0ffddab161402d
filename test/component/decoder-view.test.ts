// The Decoder view on real logs: the seed write-ups' pastes decoded by the real decoder, shown with
// the exit status, the explanation and the next steps; the input and results survive leaving the
// view; the vmlinux is chosen among the kernels built in the workspace.
import { fireEvent, render, screen, within } from '@testing-library/svelte';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import type { ApiArgs, ApiMethod, LabApi } from '../../electron/common/api';
import { LabError } from '../../electron/common/errors';
import type { KernelSummary } from '../../electron/common/types';
import { decodeText } from '../../electron/lab/analyze/decoder';
import { DecoderState } from '../../renderer/src/lib/state/decoder.svelte';
import DecoderView from '../../renderer/src/views/DecoderView.svelte';

const fixture = (name: string) => readFileSync(join(process.cwd(), 'test/fixtures', name), 'utf8');

const kernel = (key: string, vmlinux: string | null): KernelSummary => ({
  key,
  release: '6.1.192',
  base: 'tinyconfig',
  fragments: [],
  dir: `/ws/cache/kernel/${key}`,
  buildId: 'ab12cd34ef56ab12cd34ef56ab12cd34ef56ab12',
  buildSeconds: 250,
  verification: { ok: true, checks: [] },
  artifacts: vmlinux ? [{ name: 'vmlinux', path: vmlinux, size: 220_000_000 }] : [],
  modules: 0,
  executor: 'host',
  builtAt: null,
});

function fakeApi(kernels: KernelSummary[] = []) {
  const decodeCalls: ApiArgs<'decoder.decode'>[] = [];
  const answers: Partial<Record<ApiMethod, (args: ApiArgs<'decoder.decode'>) => unknown>> = {
    'kernels.list': () => kernels,
    'vms.list': () => [],
    'vmcores.list': () => [],
    'decoder.decode': (args) => {
      decodeCalls.push(args);
      return decodeText(args.text);
    },
  };
  const api: LabApi = {
    invoke: (async (method: ApiMethod, args: ApiArgs<'decoder.decode'>) => {
      const answer = answers[method];
      if (!answer) throw new LabError('UNKNOWN_METHOD', method);
      return answer(args);
    }) as LabApi['invoke'],
    on: () => () => undefined,
  };
  return { api, decodeCalls };
}

async function decodeFixture(name: string) {
  await fireEvent.input(screen.getByTestId('decoder-input'), { target: { value: fixture(name) } });
  await fireEvent.click(screen.getByRole('button', { name: 'Decode' }));
  return (await screen.findAllByTestId('decoded-report'))[0]!;
}

describe('Decoder view', () => {
  it('decodes the seed 001 log: exitcode=0x00007f00 is exit(127), with causes and next steps', async () => {
    render(DecoderView, { api: fakeApi().api, decoder: new DecoderState() });
    const card = await decodeFixture('panic-logs/seed001-systemd-exitcode-7f00.log');
    expect(within(card).getByTestId('decoded-exit').textContent).toMatch(/0x00007f00\s*→\s*exit\(127\)/);
    expect(within(card).getByText('Likely causes')).toBeTruthy();
    expect(within(card).getByText('Next steps')).toBeTruthy();
  });

  it('decodes the flattened NULL dereference of seed 002 with its fault address, task and taint', async () => {
    render(DecoderView, { api: fakeApi().api, decoder: new DecoderState() });
    const card = await decodeFixture('panic-logs/seed002-flattened-null-deref-0x74.log');
    expect(card.textContent).toMatch(/null-deref/);
    expect(card.textContent).toMatch(/0x0*74/);
    expect(card.textContent).toContain('AliYunDun (pid 1362) · CPU 5');
    expect(card.textContent).toMatch(/O: [^;]*out-of-tree/i);
  });

  it('says how many reports a log holds', async () => {
    render(DecoderView, { api: fakeApi().api, decoder: new DecoderState() });
    await fireEvent.input(screen.getByTestId('decoder-input'), {
      target: { value: 'nothing to see here\n' },
    });
    await fireEvent.click(screen.getByRole('button', { name: 'Decode' }));
    expect((await screen.findByTestId('decoder-count')).textContent).toContain('0 report(s)');
  });

  it('keeps the log and the decoded reports when the view is left and opened again', async () => {
    const state = new DecoderState();
    const { api } = fakeApi();
    const first = render(DecoderView, { api, decoder: state });
    await decodeFixture('panic-logs/seed001-systemd-exitcode-7f00.log');
    first.unmount();
    render(DecoderView, { api, decoder: state });
    expect(screen.getByTestId<HTMLTextAreaElement>('decoder-input').value).toContain('0x00007f00');
    expect(screen.getAllByTestId('decoded-report')[0]!.textContent).toContain('exit(127)');
  });

  it("offers the workspace's kernels with a vmlinux (release, build id, where built) and decodes with it", async () => {
    const { api, decodeCalls } = fakeApi([
      kernel('aaaa1111bbbb2222', '/ws/cache/kernel/aaaa1111bbbb2222/vmlinux'),
      kernel('cccc3333dddd4444', null),
    ]);
    render(DecoderView, { api, decoder: new DecoderState() });
    const select = screen.getByTestId<HTMLSelectElement>('decoder-vmlinux');
    const option = await within(select).findByRole('option', {
      name: /6\.1\.192 · build id ab12cd34ef56 · built on host/,
    });
    // The kernel whose vmlinux is gone is not offered; "another file…" is.
    expect(
      within(select)
        .getAllByRole('option')
        .map((o) => o.textContent),
    ).toEqual(['none (no file:line)', option.textContent, 'another file…']);
    await fireEvent.change(select, { target: { value: (option as HTMLOptionElement).value } });
    await decodeFixture('panic-logs/seed001-systemd-exitcode-7f00.log');
    expect(decodeCalls.at(-1)?.vmlinux).toBe('/ws/cache/kernel/aaaa1111bbbb2222/vmlinux');
  });
});
