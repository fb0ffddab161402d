// The log viewer used by Jobs and Kernels: search with highlighted matches and a match count,
// jumping between matches, and a tail that follows new output until the user scrolls up.
import { fireEvent, render, screen } from '@testing-library/svelte';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import LogViewer from '../../renderer/src/lib/components/LogViewer.svelte';

// A real kernel build log (make -j2 of the lab kernel), cut to its first lines.
const buildLog = readFileSync(join(process.cwd(), 'test/fixtures/logs/kernel-build.log'), 'utf8');

/** jsdom lays nothing out: give the output box a size and a scroll position we control. */
function layout(output: HTMLElement, scrollHeight: number, clientHeight: number) {
  let top = 0;
  Object.defineProperty(output, 'scrollHeight', { configurable: true, get: () => scrollHeight });
  Object.defineProperty(output, 'clientHeight', { configurable: true, get: () => clientHeight });
  Object.defineProperty(output, 'scrollTop', {
    configurable: true,
    get: () => top,
    set: (value: number) => (top = Math.min(value, scrollHeight - clientHeight)),
  });
  return {
    get top() {
      return top;
    },
    grow(by: number) {
      scrollHeight += by;
    },
  };
}

describe('LogViewer', () => {
  it('highlights every match, counts them and jumps between them', async () => {
    const expected = buildLog.match(/\bCC\b/g)?.length ?? 0;
    expect(expected).toBeGreaterThan(2);
    render(LogViewer, { text: buildLog, label: 'Building the kernel' });
    const search = screen.getByRole('searchbox');
    await fireEvent.input(search, { target: { value: 'cc' } });
    const output = screen.getByTestId('log-output');
    // Case-insensitive: "CC" lines and every "cc" inside words.
    const all = buildLog.match(/cc/gi)?.length ?? 0;
    expect(output.querySelectorAll('mark')).toHaveLength(all);
    expect(screen.getByTestId('log-matches').textContent).toBe(`1 of ${all}`);
    expect(output.querySelector('mark.current')).toBe(output.querySelectorAll('mark')[0]);
    // The text itself is unchanged by the highlighting.
    expect(output.textContent).toBe(buildLog);

    await fireEvent.keyDown(search, { key: 'Enter' });
    expect(screen.getByTestId('log-matches').textContent).toBe(`2 of ${all}`);
    expect(output.querySelector('mark.current')).toBe(output.querySelectorAll('mark')[1]);
    await fireEvent.keyDown(search, { key: 'Enter', shiftKey: true });
    await fireEvent.keyDown(search, { key: 'Enter', shiftKey: true });
    expect(screen.getByTestId('log-matches').textContent).toBe(`${all} of ${all}`);
    await fireEvent.click(screen.getByRole('button', { name: 'Next match' }));
    expect(screen.getByTestId('log-matches').textContent).toBe(`1 of ${all}`);

    // Regex characters are searched for as they are.
    await fireEvent.input(search, { target: { value: '[M]' } });
    expect(output.querySelectorAll('mark')).toHaveLength(buildLog.split('[M]').length - 1);
    await fireEvent.input(search, { target: { value: 'no such text (' } });
    expect(output.querySelectorAll('mark')).toHaveLength(0);
    expect(screen.getByTestId('log-matches').textContent).toBe('no match');
  });

  it('follows the tail until the user scrolls up, and again when asked', async () => {
    const lines = buildLog.split('\n');
    const { rerender } = render(LogViewer, { text: lines.slice(0, 10).join('\n'), label: 'log' });
    const output = screen.getByTestId('log-output');
    const box = layout(output, 1000, 200);

    await rerender({ text: lines.slice(0, 20).join('\n'), label: 'log' });
    expect(box.top).toBe(800); // at the end
    expect(output.dataset.following).toBe('true');
    expect(screen.queryByTestId('log-follow')).toBeNull();

    // The user scrolls up to read: new output leaves the view where it is.
    output.scrollTop = 300;
    await fireEvent.scroll(output);
    expect(output.dataset.following).toBe('false');
    box.grow(400);
    await rerender({ text: lines.slice(0, 30).join('\n'), label: 'log' });
    expect(box.top).toBe(300);

    // "Follow the end" goes back to the tail and keeps following it.
    await fireEvent.click(screen.getByTestId('log-follow'));
    expect(box.top).toBe(1200);
    expect(output.dataset.following).toBe('true');
    box.grow(100);
    await rerender({ text: lines.slice(0, 40).join('\n'), label: 'log' });
    expect(box.top).toBe(1300);

    // Scrolling back down to the end by hand follows again too.
    output.scrollTop = 0;
    await fireEvent.scroll(output);
    output.scrollTop = 5000;
    await fireEvent.scroll(output);
    expect(output.dataset.following).toBe('true');
  });

  it('stops following when the user jumps to a match, and shows the empty text', async () => {
    const { rerender } = render(LogViewer, { text: '', label: 'log', empty: '(the log is empty)' });
    const output = screen.getByTestId('log-output');
    expect(output.textContent).toBe('(the log is empty)');
    layout(output, 1000, 200);
    await rerender({ text: buildLog, label: 'log', empty: '(the log is empty)' });
    expect(output.dataset.following).toBe('true');
    await fireEvent.input(screen.getByRole('searchbox'), { target: { value: 'vmlinux' } });
    expect(output.dataset.following).toBe('false');
    expect(screen.getByTestId('log-follow')).toBeTruthy();
  });
});
