// Hash routing (#/home, #/terminal…): deep links work, and the last view is remembered.
import { appViews } from '../../../../electron/common/views';
export const views = appViews;
export type View = (typeof views)[number];

const storageKey = 'kdlab.view';

function parse(hash: string): View | null {
  const name = hash.replace(/^#\/?/, '');
  return (views as readonly string[]).includes(name) ? (name as View) : null;
}

export class Router {
  #view = $state<View>(
    parse(globalThis.location?.hash ?? '') ??
      parse(`#${globalThis.localStorage?.getItem(storageKey) ?? ''}`) ??
      'home',
  );

  get view(): View {
    return this.#view;
  }

  listen(): () => void {
    const onHash = () => {
      const view = parse(location.hash);
      if (view) {
        this.#view = view;
        localStorage.setItem(storageKey, view);
      }
    };
    window.addEventListener('hashchange', onHash);
    return () => window.removeEventListener('hashchange', onHash);
  }
}
