import { readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import type { Configuration } from 'app-builder-lib';
import { validateConfiguration } from 'app-builder-lib/out/util/config/config';
import { DebugLogger } from 'builder-util/out/DebugLogger';
import { describe, expect, it } from 'vitest';
import { parse } from 'yaml';

const root = fileURLToPath(new URL('../..', import.meta.url));
const text = readFileSync(`${root}electron-builder.yml`, 'utf8');
const config = parse(text) as Record<string, unknown>;
const pkg = JSON.parse(readFileSync(`${root}package.json`, 'utf8')) as {
  main: string;
  scripts: Record<string, string>;
};

describe('electron-builder.yml', () => {
  it("passes electron-builder's own configuration schema", async () => {
    await expect(
      validateConfiguration(parse(text) as Configuration, new DebugLogger(false)),
    ).resolves.toBeUndefined();
  });

  it('names the app and writes to release/', () => {
    expect(config.appId).toBe('org.kdlab.app');
    expect(config.productName).toBe('kdlab');
    expect(config.directories).toMatchObject({ output: 'release' });
  });

  it('packs the built app, kdlab files and package.json, starting at the bundled main', () => {
    expect(config.files).toEqual(
      expect.arrayContaining(['dist/**', 'package.json', 'lab-images/**', 'recipes/**']),
    );
    expect(config.extraMetadata).toEqual({ main: 'dist/electron/main.cjs' });
    expect(pkg.main).toBe('dist/electron/main.cjs');
  });

  it('does not rebuild native modules, and keeps node-pty and lab images outside the asar', () => {
    expect(config.npmRebuild).toBe(false);
    expect(config.asar).toBe(true);
    expect(config.asarUnpack).toEqual(
      expect.arrayContaining(['**/node_modules/node-pty/**', 'lab-images/**']),
    );
  });

  it.each([
    ['runAsNode', false],
    ['enableCookieEncryption', true],
    ['enableNodeOptionsEnvironmentVariable', false],
    ['enableNodeCliInspectArguments', false],
    ['enableEmbeddedAsarIntegrityValidation', true],
    ['onlyLoadAppFromAsar', true],
    ['loadBrowserProcessSpecificV8Snapshot', false],
    ['grantFileProtocolExtraPrivileges', false],
  ])('sets the %s fuse to %s', (fuse, value) => {
    const fuses = config.electronFuses as Record<string, unknown>;
    expect(fuses[fuse]).toBe(value);
  });

  it('builds AppImage and deb for Linux (Development), dmg for macOS, nsis for Windows', () => {
    expect(config.linux).toMatchObject({ target: ['AppImage', 'deb'], category: 'Development' });
    expect(config.mac).toMatchObject({ target: 'dmg' });
    expect(config.win).toMatchObject({ target: 'nsis' });
  });

  it('associates lab packs and reports with kdlab', () => {
    const associations = config.fileAssociations as { ext: string; mimeType: string }[];
    expect(associations.map((a) => a.ext)).toEqual(['kdlab-pack', 'kdlab-report']);
    for (const a of associations) expect(a.mimeType).toMatch(/^application\/x-kdlab-/);
  });

  it('is what npm run dist uses', () => {
    expect(pkg.scripts.dist).toContain('--config electron-builder.yml');
  });
});
