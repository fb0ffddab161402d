// The main window's bounds, remembered in a small JSON file in the userData folder.
import { mkdirSync, readFileSync, renameSync, rmSync, writeFileSync } from 'node:fs';
import { dirname } from 'node:path';

export interface Rect {
  x: number;
  y: number;
  width: number;
  height: number;
}

export interface WindowState {
  /** Absent: let the window manager place the window. */
  x?: number;
  y?: number;
  width: number;
  height: number;
  maximized: boolean;
}

export const minWindowSize = { width: 800, height: 500 } as const;
export const defaultWindowState: WindowState = { width: 1280, height: 800, maximized: false };

const isInt = (value: unknown): value is number => Number.isSafeInteger(value);

/** Accepts only a well-formed state; anything else (old format, hand edits, garbage) gives null. */
export function parseWindowState(raw: unknown): WindowState | null {
  if (typeof raw !== 'object' || raw === null) return null;
  const v = raw as Record<string, unknown>;
  if (!isInt(v.width) || !isInt(v.height) || typeof v.maximized !== 'boolean') return null;
  if (v.width < minWindowSize.width || v.height < minWindowSize.height) return null;
  if (v.width > 100_000 || v.height > 100_000) return null;
  const state: WindowState = { width: v.width, height: v.height, maximized: v.maximized };
  if (isInt(v.x) && isInt(v.y)) {
    state.x = v.x;
    state.y = v.y;
  }
  return state;
}

function overlap(a: Rect, b: Rect): number {
  const w = Math.min(a.x + a.width, b.x + b.width) - Math.max(a.x, b.x);
  const h = Math.min(a.y + a.height, b.y + b.height) - Math.max(a.y, b.y);
  return w > 0 && h > 0 ? w * h : 0;
}

/**
 * Keeps a remembered window reachable after monitors changed: the size is clamped to the largest
 * work area, and the position is dropped unless the window's top strip (its title bar) is on a display.
 */
export function fitToWorkAreas(state: WindowState, workAreas: readonly Rect[]): WindowState {
  if (workAreas.length === 0) return state;
  const maxWidth = Math.max(...workAreas.map((a) => a.width));
  const maxHeight = Math.max(...workAreas.map((a) => a.height));
  const fitted: WindowState = {
    width: Math.max(minWindowSize.width, Math.min(state.width, maxWidth)),
    height: Math.max(minWindowSize.height, Math.min(state.height, maxHeight)),
    maximized: state.maximized,
  };
  if (state.x !== undefined && state.y !== undefined) {
    const titleBar: Rect = { x: state.x, y: state.y, width: fitted.width, height: 40 };
    const visible = workAreas.some((area) => overlap(titleBar, area) >= 100 * 40);
    if (visible) {
      fitted.x = state.x;
      fitted.y = state.y;
    }
  }
  return fitted;
}

/** The remembered state, or the default when the file is missing or unreadable. */
export function loadWindowState(file: string): WindowState {
  try {
    return parseWindowState(JSON.parse(readFileSync(file, 'utf8'))) ?? { ...defaultWindowState };
  } catch {
    return { ...defaultWindowState };
  }
}

/**
 * Written atomically (temporary file in the same folder, then rename) so a crash mid-write never
 * leaves a truncated file. Synchronous: it runs from the window's `close` event, right before quitting.
 * Returns false (and leaves the old file) when the folder is not writable.
 */
export function saveWindowState(file: string, state: WindowState): boolean {
  const temp = `${file}.${process.pid}.tmp`;
  try {
    mkdirSync(dirname(file), { recursive: true });
    writeFileSync(temp, `${JSON.stringify(state)}\n`, { mode: 0o600 });
    renameSync(temp, file);
    return true;
  } catch {
    try {
      rmSync(temp, { force: true });
    } catch {
      // nothing more to do: the old file is intact
    }
    return false;
  }
}
