// SaveButton and saveFile in each environment: the Electron bridge (window.lab.saveFile: the main
// process answers with the chosen path or an error), the browser's save picker (File System Access
// API, cancel included) and the download fallback. The browser and bridge objects are stand-ins.
import { fireEvent, render, screen } from '@testing-library/svelte';
import { afterEach, describe, expect, it, vi } from 'vitest';
import type { LabTransport } from '../../electron/common/api';
import type { SaveFileRequest } from '../../electron/common/save-file';
import SaveButton from '../../renderer/src/lib/components/SaveButton.svelte';

const request: SaveFileRequest = { name: 'crash-report.md', content: '# panic\n', format: 'markdown' };

afterEach(() => {
  delete window.lab;
  Reflect.deleteProperty(window, 'showSaveFilePicker');
  vi.restoreAllMocks();
});

function bridge(saveFile: NonNullable<LabTransport['saveFile']>): void {
  window.lab = { invoke: () => Promise.reject(new Error('unused')), on: () => () => undefined, saveFile };
}

describe('SaveButton', () => {
  it('in Electron hands the request to the main process and shows where it was saved', async () => {
    const seen: SaveFileRequest[] = [];
    bridge((r) => {
      seen.push(r);
      return Promise.resolve({
        ok: true,
        result: { saved: true, path: '/home/u/Downloads/crash-report.md' },
      });
    });
    render(SaveButton, { label: 'Export Markdown', file: () => request });
    await fireEvent.click(screen.getByRole('button', { name: 'Export Markdown' }));
    expect(await screen.findByRole('status')).toHaveProperty(
      'textContent',
      'Saved to /home/u/Downloads/crash-report.md',
    );
    expect(seen).toEqual([request]);
  });

  it("shows the main process's error with its hint, and nothing when the user cancelled", async () => {
    let answer: Awaited<ReturnType<NonNullable<LabTransport['saveFile']>>> = {
      ok: false,
      error: {
        code: 'IO',
        message: 'Could not write /ro/x.md: EROFS',
        hint: 'Choose a folder you can write to.',
      },
    };
    bridge(() => Promise.resolve(answer));
    render(SaveButton, { label: 'Save', file: () => request });
    await fireEvent.click(screen.getByRole('button', { name: 'Save' }));
    expect((await screen.findByRole('alert')).textContent).toContain('Choose a folder you can write to.');
    answer = { ok: true, result: { saved: false, path: null } };
    await fireEvent.click(screen.getByRole('button', { name: 'Save' }));
    await vi.waitFor(() => expect(screen.queryByRole('alert')).toBeNull());
    expect(screen.queryByRole('status')).toBeNull();
  });

  it('in a browser with a save picker writes the file through it; cancelling writes nothing', async () => {
    const written: string[] = [];
    const pickers: unknown[] = [];
    let cancel = false;
    Object.defineProperty(window, 'showSaveFilePicker', {
      configurable: true,
      value: (options: unknown) => {
        pickers.push(options);
        if (cancel) return Promise.reject(new DOMException('The user aborted a request.', 'AbortError'));
        return Promise.resolve({
          name: 'mine.md',
          createWritable: () =>
            Promise.resolve({
              write: (data: string) => Promise.resolve(void written.push(data)),
              close: () => Promise.resolve(),
            }),
        });
      },
    });
    const click = vi.spyOn(HTMLAnchorElement.prototype, 'click');
    render(SaveButton, { label: 'Save', file: () => Promise.resolve(request) });
    await fireEvent.click(screen.getByRole('button', { name: 'Save' }));
    expect((await screen.findByRole('status')).textContent).toBe('Saved to mine.md');
    expect(written).toEqual(['# panic\n']);
    expect(pickers[0]).toEqual({
      suggestedName: 'crash-report.md',
      types: [{ description: 'Markdown', accept: { 'text/markdown': ['.md'] } }],
    });
    cancel = true;
    await fireEvent.click(screen.getByRole('button', { name: 'Save' }));
    await vi.waitFor(() => expect(screen.queryByRole('status')).toBeNull());
    expect(written).toHaveLength(1);
    expect(click).not.toHaveBeenCalled();
  });

  it('otherwise downloads a blob named as asked', async () => {
    const downloads: { name: string; href: string }[] = [];
    vi.spyOn(HTMLAnchorElement.prototype, 'click').mockImplementation(function (this: HTMLAnchorElement) {
      downloads.push({ name: this.download, href: this.href });
    });
    // jsdom has no object URLs.
    for (const name of ['createObjectURL', 'revokeObjectURL'])
      if (!(name in URL))
        Object.defineProperty(URL, name, { configurable: true, writable: true, value: () => '' });
    const blobs: Blob[] = [];
    vi.spyOn(URL, 'createObjectURL').mockImplementation((blob) => {
      blobs.push(blob as Blob);
      return 'blob:kdlab/1';
    });
    render(SaveButton, { label: 'Save', file: () => ({ ...request, format: 'log', name: 'vm.log' }) });
    await fireEvent.click(screen.getByRole('button', { name: 'Save' }));
    await vi.waitFor(() => expect(downloads).toEqual([{ name: 'vm.log', href: 'blob:kdlab/1' }]));
    expect(blobs[0]?.type).toBe('text/plain');
    expect(await blobs[0]?.text()).toBe('# panic\n');
  });
});
