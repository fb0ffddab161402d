// A drop target for one file: `use:dropZone={{ onFile, onDragging }}`. It takes the drop itself
// (preventDefault), so the window's catch-all drop handler leaves it alone.
import type { Action } from 'svelte/action';

export interface DropZoneOptions {
  onFile: (file: File | undefined) => void;
  /** Told when a drag enters or leaves, for the highlight. */
  onDragging?: (dragging: boolean) => void;
}

export const dropZone: Action<HTMLElement, DropZoneOptions> = (node, initial) => {
  let options = initial;
  const over = (e: DragEvent) => {
    e.preventDefault();
    options.onDragging?.(true);
  };
  const leave = () => options.onDragging?.(false);
  const drop = (e: DragEvent) => {
    e.preventDefault();
    options.onDragging?.(false);
    options.onFile(e.dataTransfer?.files[0]);
  };
  node.addEventListener('dragover', over);
  node.addEventListener('dragleave', leave);
  node.addEventListener('drop', drop);
  return {
    update(next) {
      options = next;
    },
    destroy() {
      node.removeEventListener('dragover', over);
      node.removeEventListener('dragleave', leave);
      node.removeEventListener('drop', drop);
    },
  };
};
