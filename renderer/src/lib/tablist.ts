// The WAI-ARIA tabs pattern's keyboard for a role="tablist": arrow keys move to the previous/next
// tab (wrapping), Home/End to the first/last, and the tab reached is activated (clicked); only the
// selected tab is in the Tab order (roving tabindex), so Tab leaves the tablist for the panel.
// Use: <div role="tablist" use:tablist> with role="tab" buttons carrying aria-selected.

export function tablist(node: HTMLElement): { destroy(): void } {
  const tabs = () =>
    [...node.querySelectorAll<HTMLElement>('[role="tab"]')].filter((tab) => !tab.hasAttribute('disabled'));

  function roving() {
    const all = tabs();
    const selected = all.find((tab) => tab.getAttribute('aria-selected') === 'true') ?? all[0];
    for (const tab of all) {
      const index = tab === selected ? 0 : -1;
      if (tab.tabIndex !== index) tab.tabIndex = index;
    }
  }

  function onKeydown(event: KeyboardEvent) {
    if (event.altKey || event.ctrlKey || event.metaKey) return;
    const current = (event.target as Element | null)?.closest<HTMLElement>('[role="tab"]');
    const all = tabs();
    const index = current ? all.indexOf(current) : -1;
    if (index < 0) return;
    const vertical = node.getAttribute('aria-orientation') === 'vertical';
    const previous = vertical ? 'ArrowUp' : 'ArrowLeft';
    const next = vertical ? 'ArrowDown' : 'ArrowRight';
    let target: number;
    if (event.key === previous) target = (index - 1 + all.length) % all.length;
    else if (event.key === next) target = (index + 1) % all.length;
    else if (event.key === 'Home') target = 0;
    else if (event.key === 'End') target = all.length - 1;
    else return;
    event.preventDefault();
    const tab = all[target];
    if (!tab) return;
    tab.focus();
    if (tab.getAttribute('aria-selected') !== 'true') tab.click();
  }

  // Tabs come and go (terminals opened, guests booted) and the selection changes by mouse too.
  const observer = new MutationObserver(roving);
  observer.observe(node, {
    subtree: true,
    childList: true,
    attributes: true,
    attributeFilter: ['aria-selected'],
  });
  roving();
  node.addEventListener('keydown', onKeydown);
  return {
    destroy() {
      observer.disconnect();
      node.removeEventListener('keydown', onKeydown);
    },
  };
}
