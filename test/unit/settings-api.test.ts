// settings.get / settings.setExecutor through the API dispatch the UI uses: what is accepted, what is
// refused before anything is saved, and a Docker choice with no engine failing as data.
import { readFile, rm } from 'node:fs/promises';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { ExecutorSettingsInfo } from '../../electron/common/api';
import type { LabErrorData } from '../../electron/common/errors';
import type { ClientContext } from '../../electron/lab/dispatcher';
import { createLabBackend } from '../../electron/lab/lab-backend';
import type { LabBackend } from '../../electron/lab/lab-backend';
import { appRoot } from '../helpers/build';
import { makeTempDir } from '../helpers/temp';

let root: string;
let backend: LabBackend;
const ctx: ClientContext = { clientId: 'test', emit: () => undefined };

async function call(method: string, args: unknown = {}) {
  return backend.dispatch(method, args, ctx);
}
async function ok<T>(method: string, args: unknown = {}): Promise<T> {
  const result = await call(method, args);
  if (!result.ok) throw new Error(`${method}: ${result.error.message}`);
  return result.result as T;
}
async function refused(method: string, args: unknown): Promise<LabErrorData> {
  const result = await call(method, args);
  if (result.ok) throw new Error(`${method} accepted ${JSON.stringify(args)}`);
  return result.error;
}
const saved = async () =>
  JSON.parse(await readFile(join(root, 'state', 'settings.json'), 'utf8').catch(() => '{}')) as unknown;

beforeAll(async () => {
  root = await makeTempDir();
  backend = await createLabBackend({ mode: 'web', version: 'test', workspaceRoot: root, appRoot });
});
afterAll(async () => {
  await backend.dispose();
  await rm(root, { recursive: true, force: true });
});

describe('settings API', () => {
  it('starts on the host with the toolchain image and no saved engine', async () => {
    const info = await ok<ExecutorSettingsInfo>('settings.get');
    expect(info).toMatchObject({ executor: 'host', image: 'kdlab/toolchain:latest', engine: null });
    expect(info.effectiveEngine).toMatch(/^(unix|tcp|ssh):\/\//);
  });

  it('saves docker with an image and an engine, keeps them when absent, forgets the engine on null', async () => {
    const info = await ok<ExecutorSettingsInfo>('settings.setExecutor', {
      executor: 'docker',
      image: 'registry.lab:5000/kdlab/toolchain:v2',
      engine: 'tcp://lab-server:2376',
    });
    expect(info).toEqual({
      executor: 'docker',
      image: 'registry.lab:5000/kdlab/toolchain:v2',
      engine: 'tcp://lab-server:2376',
      effectiveEngine: 'tcp://lab-server:2376',
    });
    expect(await saved()).toMatchObject({
      executor: 'docker',
      docker: { image: 'registry.lab:5000/kdlab/toolchain:v2', host: 'tcp://lab-server:2376' },
    });
    // Only the kind: image and engine stay.
    expect(await ok<ExecutorSettingsInfo>('settings.setExecutor', { executor: 'host' })).toMatchObject({
      executor: 'host',
      image: 'registry.lab:5000/kdlab/toolchain:v2',
      engine: 'tcp://lab-server:2376',
    });
    const cleared = await ok<ExecutorSettingsInfo>('settings.setExecutor', {
      executor: 'host',
      engine: null,
      image: 'kdlab/toolchain:latest',
    });
    expect(cleared).toMatchObject({ engine: null, image: 'kdlab/toolchain:latest' });
    expect(await ok<ExecutorSettingsInfo>('settings.get')).toEqual(cleared);
  });

  it.each([
    [{ executor: 'podman' }, /executor/],
    [{}, /executor/],
    [{ executor: 'docker', image: 'Not An Image!' }, /Docker image reference/],
    [{ executor: 'docker', image: '' }, /Docker image reference/],
    [{ executor: 'docker', engine: 'lab-server:2376' }, /Docker engine address/],
    [{ executor: 'docker', engine: 'unix://relative.sock' }, /Docker engine address/],
    [{ executor: 'docker', engine: 'tcp://lab server:2376' }, /Docker engine address/],
    [{ executor: 'docker', engine: `tcp://${'a'.repeat(600)}:2376` }, /500|too_big|Too big/i],
    [{ executor: 'docker', shell: 'rm -rf /' }, /shell|unrecognized/i],
  ])('refuses %j as BAD_REQUEST, saving nothing', async (args, message) => {
    const before = await saved();
    const error = await refused('settings.setExecutor', args);
    expect(error.code).toBe('BAD_REQUEST');
    expect(error.message).toMatch(message);
    expect(await saved()).toEqual(before);
  });

  it('refuses an address that passes the shape check but not the full parse (no port, unknown scheme)', async () => {
    const before = await saved();
    const noPort = await refused('settings.setExecutor', { executor: 'docker', engine: 'tcp://lab-server' });
    expect(noPort).toMatchObject({ code: 'BAD_REQUEST' });
    expect(noPort.message).toMatch(/has no port/);
    expect(noPort.hint).toMatch(/2376/);
    expect(await saved()).toEqual(before);
  });

  it('a Docker operation with no engine there fails as data, saying the daemon is not running', async () => {
    const socket = join(root, 'no-daemon.sock');
    await ok('settings.setExecutor', { executor: 'docker', engine: `unix://${socket}` });
    const status = await refused('docker.status', {});
    expect(status.code).toBe('UNAVAILABLE');
    expect(status.message).toContain(socket);
    const build = await refused('kernels.build', { source: '/usr/src/linux-source-6.1.tar.xz' });
    expect(build.code).toBe('UNAVAILABLE');
    expect(build.message).toMatch(/daemon is not running/);
    expect(build.hint).toMatch(/dockerd/);
    // The failed job says so too.
    const jobs = await ok<{ title: string; state: string }[]>('jobs.list');
    expect(jobs.find((j) => j.title.startsWith('Building the kernel'))).toMatchObject({
      title: 'Building the kernel (Docker)',
      state: 'failed',
    });
    await ok('settings.setExecutor', { executor: 'host', engine: null });
  });
});
