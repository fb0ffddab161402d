import { describe, expect, it } from 'vitest';
import { LabError } from '../../electron/common/errors';
import type { ApiHandlers, ClientContext } from '../../electron/lab/dispatcher';
import { createDispatcher } from '../../electron/lab/dispatcher';

const client: ClientContext = { clientId: 'test', emit: () => undefined };

function handlers(overrides: Partial<ApiHandlers>): ApiHandlers {
  const notUsed = () => {
    throw new Error('not used in this test');
  };
  return new Proxy(overrides, {
    get: (target, key) => target[key as keyof ApiHandlers] ?? notUsed,
  }) as ApiHandlers;
}

describe('dispatcher', () => {
  it('refuses an unknown method as data', async () => {
    const dispatch = createDispatcher(handlers({}));
    const result = await dispatch('fs.readFile', { path: '/etc/shadow' }, client);
    expect(result).toMatchObject({ ok: false, error: { code: 'UNKNOWN_METHOD' } });
  });

  it('refuses inherited property names as methods', async () => {
    const dispatch = createDispatcher(handlers({}));
    expect(await dispatch('constructor', {}, client)).toMatchObject({
      ok: false,
      error: { code: 'UNKNOWN_METHOD' },
    });
    expect(await dispatch('__proto__', {}, client)).toMatchObject({
      ok: false,
      error: { code: 'UNKNOWN_METHOD' },
    });
  });

  it.each([
    ['a wrong type', { id: 42 }],
    ['a missing field', {}],
    ['an extra field', { id: 'x', rm: '-rf /' }],
    ['not an object', 'x'],
  ])('refuses %s with BAD_REQUEST naming the field', async (_name, args) => {
    const dispatch = createDispatcher(
      handlers({ 'jobs.cancel': () => Promise.reject(new Error('must not run')) }),
    );
    const result = await dispatch('jobs.cancel', args, client);
    expect(result.ok).toBe(false);
    if (!result.ok) {
      expect(result.error.code).toBe('BAD_REQUEST');
      expect(result.error.message).toMatch(/^Invalid arguments for jobs\.cancel: /);
    }
  });

  it('applies schema defaults and passes the client through', async () => {
    let seen: unknown;
    let seenClient: ClientContext | undefined;
    const dispatch = createDispatcher(
      handlers({
        'jobs.log': (args, c) => {
          seen = args;
          seenClient = c;
          return { text: 'x', nextOffset: 1, size: 1 };
        },
      }),
    );
    const result = await dispatch('jobs.log', { id: 'abc' }, client);
    expect(result).toEqual({ ok: true, result: { text: 'x', nextOffset: 1, size: 1 } });
    expect(seen).toEqual({ id: 'abc', offset: 0 });
    expect(seenClient).toBe(client);
  });

  it('turns a thrown LabError into its data, hint included', async () => {
    const dispatch = createDispatcher(
      handlers({
        'jobs.cancel': () => {
          throw new LabError('NOT_FOUND', 'No job with id nope.', 'List jobs first.');
        },
      }),
    );
    expect(await dispatch('jobs.cancel', { id: 'nope' }, client)).toEqual({
      ok: false,
      error: { code: 'NOT_FOUND', message: 'No job with id nope.', hint: 'List jobs first.' },
    });
  });

  it('turns any other error into INTERNAL data, never a thrown object', async () => {
    const dispatch = createDispatcher(handlers({ 'app.info': () => Promise.reject(new TypeError('boom')) }));
    const result = await dispatch('app.info', {}, client);
    expect(result).toMatchObject({ ok: false, error: { code: 'INTERNAL', message: 'boom' } });
  });
});
