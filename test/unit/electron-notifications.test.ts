import { beforeEach, describe, expect, it } from 'vitest';
import type { JobInfo } from '../../electron/common/types';
import { EventBus } from '../../electron/lab/event-bus';
import {
  JobTracker,
  formatDuration,
  isLongJob,
  notificationFor,
  watchJobs,
  windowTitle,
} from '../../electron/main/notifications';
import { BrowserWindow, Notification, resetElectronMock } from '../mocks/electron';

const t0 = Date.parse('2026-11-22T10:00:00.000Z');
const at = (seconds: number) => new Date(t0 + seconds * 1000).toISOString();

function job(overrides: Partial<JobInfo> = {}): JobInfo {
  return {
    id: 'j1',
    kind: 'doctor',
    title: 'Checking the host',
    state: 'running',
    progress: { fraction: null, message: '', etaSeconds: null },
    createdAt: at(0),
    endedAt: null,
    error: null,
    logPath: '/tmp/j1.log',
    ...overrides,
  };
}

const running = (overrides: Partial<JobInfo> = {}) => job({ ...overrides, state: 'running', endedAt: null });
const ended = (state: JobInfo['state'], seconds: number, overrides: Partial<JobInfo> = {}) =>
  job({ ...overrides, state, endedAt: at(seconds) });

describe('isLongJob', () => {
  it.each([
    ['a 5 s kernel build', job({ kind: 'kernel-build', endedAt: at(5), state: 'succeeded' }), true],
    ['a 2 s capture', job({ kind: 'capture', endedAt: at(2), state: 'failed' }), true],
    ['a 31 s doctor run', job({ endedAt: at(31), state: 'succeeded' }), true],
    ['a 30 s doctor run', job({ endedAt: at(30), state: 'succeeded' }), false],
    ['a 3 s doctor run', job({ endedAt: at(3), state: 'succeeded' }), false],
  ])('%s: %s', (_name, value, expected) => {
    expect(isLongJob(value)).toBe(expected);
  });
});

describe('notificationFor', () => {
  const unfocused = { windowFocused: false };

  it('notifies when a long job succeeds while the window is not focused', () => {
    const kernel = { kind: 'kernel-build', title: 'Building kernel 6.1' };
    expect(notificationFor(running(kernel), ended('succeeded', 253, kernel), unfocused)).toEqual({
      title: 'Building kernel 6.1 — done',
      body: 'Finished in 4 min 13 s.',
    });
  });

  it("names the job in the UI's language", () => {
    const kernel = {
      kind: 'kernel-build',
      title: 'Building the kernel',
      titleText: { en: 'Building the kernel', 'zh-CN': '编译内核' },
    };
    const note = notificationFor(running(kernel), ended('succeeded', 253, kernel), {
      ...unfocused,
      language: 'zh-CN',
    });
    expect(note?.title).toContain('编译内核');
    expect(note?.title).not.toContain('Building');
  });

  it('says why a long job failed, with its hint', () => {
    const error = {
      code: 'TOOL_MISSING' as const,
      message: 'make is not installed.',
      hint: 'apt-get install make',
    };
    expect(notificationFor(running(), ended('failed', 45, { error }), unfocused)).toEqual({
      title: 'Checking the host — failed',
      body: 'make is not installed. apt-get install make',
    });
  });

  it.each([
    ['the window is focused', running(), ended('succeeded', 60), { windowFocused: true }],
    ['the job is short', running(), ended('succeeded', 5), unfocused],
    [
      'the job was cancelled',
      running({ kind: 'capture' }),
      ended('cancelled', 60, { kind: 'capture' }),
      unfocused,
    ],
    [
      'the job is still running',
      running(),
      running({ progress: { fraction: 0.5, message: '', etaSeconds: 1 } }),
      unfocused,
    ],
    [
      'it was never seen running (already reported, or ended before we watched)',
      undefined,
      ended('succeeded', 60),
      unfocused,
    ],
  ])('stays quiet when %s', (_name, previous, current, context) => {
    expect(notificationFor(previous, current, context)).toBeNull();
  });
});

describe('windowTitle', () => {
  it.each([
    ['no job', [], 'kdlab'],
    [
      'a job with progress',
      [running({ title: 'Building kernel', progress: { fraction: 0.426, message: '', etaSeconds: 9 } })],
      'Building kernel 42% — kdlab',
    ],
    ['a job of unknown length', [running({ title: 'Capturing' })], 'Capturing — kdlab'],
    [
      'several jobs: the oldest, and how many more',
      [
        running({ id: 'b', title: 'Newer', createdAt: at(10) }),
        running({
          id: 'a',
          title: 'Older',
          createdAt: at(0),
          progress: { fraction: 1.2, message: '', etaSeconds: 0 },
        }),
      ],
      'Older 100% (+1 more) — kdlab',
    ],
  ])('%s', (_name, jobs, title) => {
    expect(windowTitle(jobs)).toBe(title);
  });

  it("uses a job's title in the UI's language when it has one", () => {
    const titleText = { en: 'Building the kernel', 'zh-CN': '编译内核' };
    const jobs = [
      running({ id: 'a', title: 'Building the kernel', titleText, createdAt: at(0) }),
      running({ id: 'b', title: 'Capturing', createdAt: at(10) }),
    ];
    expect(windowTitle(jobs, 'zh-CN')).toBe('编译内核（另有 1 个） — kdlab');
    expect(windowTitle(jobs, 'en')).toBe('Building the kernel (+1 more) — kdlab');
  });

  it('formats durations for people', () => {
    expect([formatDuration(4_400), formatDuration(253_000), formatDuration(3_725_000)]).toEqual([
      '4 s',
      '4 min 13 s',
      '1 h 2 min',
    ]);
  });

  it('JobTracker keeps only running jobs and returns what it saw before', () => {
    const tracker = new JobTracker();
    expect(tracker.update(running())).toBeUndefined();
    expect(tracker.running).toHaveLength(1);
    expect(tracker.update(ended('succeeded', 40))?.state).toBe('running');
    expect(tracker.running).toEqual([]);
    expect(tracker.update(ended('succeeded', 40))).toBeUndefined();
  });
});

describe('watchJobs', () => {
  let bus: EventBus;
  let win: BrowserWindow;

  beforeEach(() => {
    resetElectronMock();
    bus = new EventBus();
    win = new BrowserWindow({ title: 'kdlab' });
    watchJobs(bus, { getWindow: () => win, now: () => t0 + 120_000 });
  });

  it('sets the window title from job.updated events and back to kdlab at the end', () => {
    const kernel = { kind: 'kernel-build', title: 'Building kernel' };
    bus.broadcast(
      'job.updated',
      running({ ...kernel, progress: { fraction: 0.42, message: '', etaSeconds: 60 } }),
    );
    expect(win.getTitle()).toBe('Building kernel 42% — kdlab');
    win.focus();
    bus.broadcast('job.updated', ended('succeeded', 100, kernel));
    expect(win.getTitle()).toBe('kdlab');
    expect(Notification.instances).toEqual([]);
  });

  it('shows one notification for a long job ending in the background; a click brings the window back', () => {
    const kernel = { kind: 'kernel-build', title: 'Building kernel' };
    bus.broadcast('job.updated', running(kernel));
    win.blur();
    win.minimize();
    bus.broadcast('job.updated', ended('succeeded', 100, kernel));
    bus.broadcast('job.updated', ended('succeeded', 100, kernel));
    expect(Notification.instances).toHaveLength(1);
    const [note] = Notification.instances;
    expect(note?.shown).toBe(true);
    expect(note?.options).toEqual({ title: 'Building kernel — done', body: 'Finished in 1 min 40 s.' });
    note?.click();
    expect(win.isMinimized()).toBe(false);
    expect(win.isFocused()).toBe(true);
  });

  it('ignores other events and stays quiet where notifications are unsupported', () => {
    Notification.supported = false;
    bus.broadcast('job.log', { id: 'j1', text: 'x' });
    bus.broadcast('job.updated', running({ kind: 'capture' }));
    bus.broadcast('job.updated', ended('failed', 100, { kind: 'capture' }));
    expect(Notification.instances).toEqual([]);
  });

  it('survives the window being closed (macOS keeps the app running)', () => {
    bus.broadcast('job.updated', running({ kind: 'capture', title: 'Capturing' }));
    win.close();
    expect(() =>
      bus.broadcast('job.updated', ended('succeeded', 100, { kind: 'capture', title: 'Capturing' })),
    ).not.toThrow();
    expect(Notification.instances).toHaveLength(1);
    expect(() => Notification.instances[0]?.click()).not.toThrow();
  });
});
