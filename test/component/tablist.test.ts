// The tablist action (WAI-ARIA tabs keyboard): arrows, Home/End, wrapping, activation by click,
// and only the selected tab in the Tab order — on tabs that select themselves when clicked, as the
// Terminal and VMs views' tabs do.
import { fireEvent } from '@testing-library/svelte';
import { afterEach, describe, expect, it } from 'vitest';
import { tablist } from '../../renderer/src/lib/tablist';

let cleanup: (() => void) | undefined;
afterEach(() => {
  cleanup?.();
  document.body.innerHTML = '';
});

/** A tablist like the views': each tab a button that selects itself on click. */
function setUp(names: string[], orientation?: 'vertical') {
  const list = document.createElement('div');
  list.setAttribute('role', 'tablist');
  if (orientation) list.setAttribute('aria-orientation', orientation);
  const clicks: string[] = [];
  const add = (name: string) => {
    const tab = document.createElement('button');
    tab.type = 'button';
    tab.setAttribute('role', 'tab');
    tab.textContent = name;
    tab.setAttribute('aria-selected', String(list.children.length === 0));
    tab.addEventListener('click', () => {
      clicks.push(name);
      for (const other of list.querySelectorAll('[role="tab"]'))
        other.setAttribute('aria-selected', String(other === tab));
    });
    list.append(tab);
    return tab;
  };
  const tabs = names.map(add);
  document.body.append(list);
  const action = tablist(list);
  cleanup = () => action.destroy();
  const selected = () => list.querySelector('[aria-selected="true"]')?.textContent;
  return { list, tabs, clicks, selected, add };
}

/** MutationObserver callbacks run as microtasks. */
const settle = () => new Promise((resolve) => setTimeout(resolve, 0));

describe('tablist action', () => {
  it('moves and activates with the arrow keys, wrapping, and Home/End', async () => {
    const { tabs, clicks, selected } = setUp(['one', 'two', 'three']);
    tabs[0]!.focus();
    await fireEvent.keyDown(tabs[0]!, { key: 'ArrowRight' });
    expect(selected()).toBe('two');
    expect(document.activeElement).toBe(tabs[1]);
    await fireEvent.keyDown(tabs[1]!, { key: 'ArrowRight' });
    await fireEvent.keyDown(tabs[2]!, { key: 'ArrowRight' });
    expect(selected()).toBe('one'); // wrapped
    await fireEvent.keyDown(tabs[0]!, { key: 'ArrowLeft' });
    expect(selected()).toBe('three');
    await fireEvent.keyDown(tabs[2]!, { key: 'Home' });
    expect(selected()).toBe('one');
    await fireEvent.keyDown(tabs[0]!, { key: 'End' });
    expect(selected()).toBe('three');
    expect(clicks).toEqual(['two', 'three', 'one', 'three', 'one', 'three']);
    // Other keys (and arrows with a modifier) are left alone.
    await fireEvent.keyDown(tabs[2]!, { key: 'ArrowDown' });
    await fireEvent.keyDown(tabs[2]!, { key: 'ArrowLeft', altKey: true });
    await fireEvent.keyDown(tabs[2]!, { key: 'a' });
    expect(selected()).toBe('three');
  });

  it('keeps only the selected tab in the Tab order, also for tabs added later', async () => {
    const { tabs, add, list } = setUp(['one', 'two']);
    expect(tabs.map((t) => t.tabIndex)).toEqual([0, -1]);
    await fireEvent.click(tabs[1]!);
    await settle();
    expect(tabs.map((t) => t.tabIndex)).toEqual([-1, 0]);
    const third = add('three');
    await settle();
    expect(third.tabIndex).toBe(-1);
    await fireEvent.keyDown(tabs[1]!, { key: 'ArrowRight' });
    await settle();
    expect([...list.querySelectorAll<HTMLElement>('[role="tab"]')].map((t) => t.tabIndex)).toEqual([
      -1, -1, 0,
    ]);
  });

  it('uses Up/Down for a vertical tablist and ignores keys from elements that are not tabs', async () => {
    const { tabs, selected, list } = setUp(['one', 'two'], 'vertical');
    await fireEvent.keyDown(tabs[0]!, { key: 'ArrowDown' });
    expect(selected()).toBe('two');
    await fireEvent.keyDown(tabs[1]!, { key: 'ArrowRight' });
    expect(selected()).toBe('two');
    const close = document.createElement('button');
    list.append(close);
    await fireEvent.keyDown(close, { key: 'ArrowUp' });
    expect(selected()).toBe('two');
  });
});
