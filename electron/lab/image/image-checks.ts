// Checks before boot, each a clear error: the seeds' boot failures caught before they happen.
// Messages are in English and Simplified Chinese (the Images view shows the interface language);
// what the kernel would print stays as the kernel prints it.
import { fmt } from '../../common/local-text';
import type { LocalText } from '../../common/local-text';
import { readElfDeps } from './elf-deps';

export interface ImageEntry {
  path: string;
  type: 'file' | 'dir' | 'symlink' | 'node';
  mode: number;
  /** For files: the bytes' head (enough for the ELF headers) — or the whole script. */
  content?: Uint8Array;
  target?: string;
}

export interface ImageCheck {
  id: string;
  ok: boolean;
  severity: 'error' | 'warning';
  message: LocalText;
  /** What the kernel would print without this check. */
  wouldSee: string | null;
}

const L = (en: string, zh: string): LocalText => ({ en, 'zh-CN': zh });

/** The checks' messages; `{name}` placeholders are filled by `fmt`. */
export const imageCheckTexts = {
  wrongArch: L(
    '{path} is built for {machine}, but the guest is {arch}',
    '{path} 是为 {machine} 编译的，但客户机是 {arch}',
  ),
  noLoader: L(
    '{path} is dynamically linked and its loader {interpreter} is not in the image (use a static build, or add its libraries)',
    '{path} 是动态链接的，而它的加载器 {interpreter} 不在镜像里（改用静态链接版本，或把它的库加进来）',
  ),
  noLibraries: L('{path} needs {libraries}, not in the image', '{path} 需要 {libraries}，但镜像里没有'),
  noInit: L(
    'there is no {init} in the initramfs: the kernel falls back to root= and cannot mount a root filesystem',
    'initramfs 里没有 {init}：内核会退回到 root=，却无法挂载根文件系统',
  ),
  initNotExecutable: L(
    '{init} is not an executable file (mode {mode})',
    '{init} 不是可执行文件（权限 {mode}）',
  ),
  noInterpreter: L(
    '{init} is a script for {interpreter}, which is not in the image',
    '{init} 是一个由 {interpreter} 执行的脚本，但镜像里没有 {interpreter}',
  ),
  initOk: L('{init} is present, executable and can run', '{init} 存在、可执行，并且能够运行'),
} satisfies Record<string, LocalText>;
const T = imageCheckTexts;

const libDirs = ['/lib', '/lib64', '/usr/lib', '/lib/x86_64-linux-gnu', '/usr/lib/x86_64-linux-gnu'];

function resolve(entries: Map<string, ImageEntry>, path: string, depth = 0): ImageEntry | null {
  const entry = entries.get(path);
  if (!entry || entry.type !== 'symlink' || depth > 10) return entry ?? null;
  const target = entry.target!.startsWith('/')
    ? entry.target!
    : `${path.slice(0, path.lastIndexOf('/'))}/${entry.target!}`;
  return resolve(entries, normalize(target), depth + 1);
}

function normalize(path: string): string {
  const parts: string[] = [];
  for (const part of path.split('/')) {
    if (part === '' || part === '.') continue;
    if (part === '..') parts.pop();
    else parts.push(part);
  }
  return `/${parts.join('/')}`;
}

function executable(entry: ImageEntry): boolean {
  return (entry.mode & 0o111) !== 0;
}

export function checkBinary(entries: Map<string, ImageEntry>, path: string, arch: string): ImageCheck[] {
  const entry = resolve(entries, path);
  const checks: ImageCheck[] = [];
  if (!entry?.content) return checks;
  const deps = readElfDeps(entry.content);
  if (!deps) return checks;
  if (deps.machine !== arch) {
    checks.push({
      id: 'arch',
      ok: false,
      severity: 'error',
      message: fmt(T.wrongArch, { path, machine: deps.machine, arch }),
      wouldSee: 'Failed to execute … (error -8)',
    });
  }
  if (deps.interpreter && !resolve(entries, deps.interpreter)) {
    checks.push({
      id: 'interpreter',
      ok: false,
      severity: 'error',
      message: fmt(T.noLoader, { path, interpreter: deps.interpreter }),
      wouldSee: 'Failed to execute … (error -2)',
    });
  }
  const missing = deps.needed.filter((lib) => !libDirs.some((dir) => resolve(entries, `${dir}/${lib}`)));
  if (missing.length > 0) {
    checks.push({
      id: 'libraries',
      ok: false,
      severity: 'error',
      message: fmt(T.noLibraries, { path, libraries: missing.join(', ') }),
      wouldSee: 'error while loading shared libraries → exit status 127 (exitcode=0x00007f00 for init)',
    });
  }
  return checks;
}

export function checkImage(list: ImageEntry[], options: { init?: string; arch?: string } = {}): ImageCheck[] {
  const entries = new Map(list.map((e) => [normalize(e.path), e]));
  const initPath = options.init ?? '/init';
  const arch = options.arch ?? 'x86_64';
  const checks: ImageCheck[] = [];
  const init = resolve(entries, initPath);
  if (!init) {
    checks.push({
      id: 'init-missing',
      ok: false,
      severity: 'error',
      message: fmt(T.noInit, { init: initPath }),
      wouldSee: 'VFS: Unable to mount root fs on unknown-block(0,0)',
    });
    return checks;
  }
  if (init.type !== 'file' || !executable(init)) {
    checks.push({
      id: 'init-not-executable',
      ok: false,
      severity: 'error',
      message: fmt(T.initNotExecutable, { init: initPath, mode: init.mode.toString(8) }),
      wouldSee: `Failed to execute ${initPath} (error -13)`,
    });
    return checks;
  }
  const head = init.content ? new TextDecoder().decode(init.content.subarray(0, 256)) : '';
  if (head.startsWith('#!')) {
    const interpreter = head.slice(2).split('\n')[0]!.trim().split(/\s+/)[0]!;
    const target = resolve(entries, interpreter);
    if (!target || !executable(target)) {
      checks.push({
        id: 'init-interpreter',
        ok: false,
        severity: 'error',
        message: fmt(T.noInterpreter, { init: initPath, interpreter }),
        wouldSee: `Failed to execute ${initPath} (error -2), then "No working init found"`,
      });
    } else {
      checks.push(...checkBinary(entries, interpreter, arch));
    }
  } else {
    checks.push(...checkBinary(entries, initPath, arch));
  }
  // Every other binary: warnings (init may never run them).
  for (const entry of list) {
    if (entry.type !== 'file' || normalize(entry.path) === normalize(initPath) || !entry.content) continue;
    for (const check of checkBinary(entries, normalize(entry.path), arch))
      checks.push({ ...check, severity: 'warning' });
  }
  if (checks.length === 0) {
    checks.push({
      id: 'init',
      ok: true,
      severity: 'error',
      message: fmt(T.initOk, { init: initPath }),
      wouldSee: null,
    });
  }
  return checks;
}
