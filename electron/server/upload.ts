// POST /upload?name=FILE: the web mode's way to hand a dropped or chosen file to the back end (in
// Electron the preload gives the file's path instead). Behind the same token as every route, same
// origin only, size-limited, written to a temporary name in the workspace's inbox and renamed into
// place once complete — never anywhere else, whatever the name says.
import { randomUUID } from 'node:crypto';
import { mkdir, open, rename, unlink } from 'node:fs/promises';
import type { IncomingMessage } from 'node:http';
import { join } from 'node:path';
import { Transform } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import { z } from 'zod';
import { LabError } from '../common/errors';
import { inboxFileName } from '../lab/inbox';

export interface UploadOptions {
  /** The workspace's inbox folder. */
  dir: string;
  maxBytes: number;
}

export interface UploadResult {
  path: string;
  name: string;
  size: number;
}

/** A 4 GiB ceiling: a 1 GiB guest's QEMU ELF dump fits, a runaway upload does not fill the disk. */
export const defaultMaxUploadBytes = 4 * 1024 ** 3;

const uploadQuery = z.object({ name: z.string().min(1).max(255) }).strict();

export async function receiveUpload(
  req: IncomingMessage,
  url: URL,
  options: UploadOptions,
): Promise<UploadResult> {
  const query = uploadQuery.safeParse(Object.fromEntries(url.searchParams));
  if (!query.success)
    throw new LabError('BAD_REQUEST', 'An upload needs ?name=FILE (1 to 255 characters) and nothing else.');
  const declared = req.headers['content-length'];
  if (declared === undefined)
    throw new LabError(
      'BAD_REQUEST',
      'An upload needs a Content-Length.',
      'Send the file as the request body.',
    );
  const length = Number(declared);
  if (!Number.isSafeInteger(length) || length < 0)
    throw new LabError('BAD_REQUEST', `Content-Length ${declared} is not a size.`);
  if (length > options.maxBytes)
    throw new LabError(
      'BAD_REQUEST',
      `${query.data.name} is ${length} bytes; uploads are limited to ${options.maxBytes} bytes.`,
      'Run kdlab on the machine that has the file (kdlab analyze FILE, or drop it on the desktop app).',
    );
  await mkdir(options.dir, { recursive: true });
  const final = join(options.dir, inboxFileName(query.data.name));
  const temp = join(options.dir, `.upload-${randomUUID()}.partial`);
  const handle = await open(temp, 'wx', 0o600);
  let size = 0;
  try {
    const counter = new Transform({
      transform(chunk: Buffer, _encoding, done) {
        size += chunk.length;
        // Content-Length is the browser's word; the bytes are what count.
        if (size > length) done(new LabError('BAD_REQUEST', 'The upload is longer than its Content-Length.'));
        else done(null, chunk);
      },
    });
    await pipeline(req, counter, handle.createWriteStream({ flush: true }));
    if (size !== length)
      throw new LabError(
        'IO',
        `The upload of ${query.data.name} stopped after ${size} of ${length} bytes.`,
        'Try again.',
      );
    // The stream fsynced (flush) and closed the file; only now does it get its name.
    await rename(temp, final);
    return { path: final, name: query.data.name, size };
  } catch (error) {
    await handle.close().catch(() => undefined);
    await unlink(temp).catch(() => undefined);
    throw error;
  }
}
