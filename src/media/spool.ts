import { createHash, randomUUID } from 'node:crypto';
import { createWriteStream } from 'node:fs';
import { mkdir, open, rm } from 'node:fs/promises';
import { join } from 'node:path';
import { Transform, type Readable } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import { DomainError } from '../domain/errors.js';

export interface Spooled {
  /** A local temporary file holding the bytes, durable on disk; the caller moves or removes it. */
  file: string;
  /** SHA-256 of the content, lower-case hex. */
  hash: string;
  size: number;
}

export const tooLarge = (maxBytes: number) => new DomainError('too_large', `a media file is at most ${maxBytes} bytes`);

/**
 * Streams an upload into a temporary file under `dir`, hashing and counting as it goes, so memory
 * stays the same whatever the file's size. Past `maxBytes` it stops reading at once (413 while the
 * client is still sending). Whatever ends it early, a refusal or the client going away, the
 * partial file is removed: a failed upload leaves nothing behind.
 */
export async function spool(source: Readable, dir: string, maxBytes: number): Promise<Spooled> {
  await mkdir(dir, { recursive: true });
  const file = join(dir, `${randomUUID()}.part`);
  const hash = createHash('sha256');
  let size = 0;
  const measure = new Transform({
    transform(chunk: Buffer, _encoding, done) {
      size += chunk.length;
      if (size > maxBytes) return done(tooLarge(maxBytes));
      hash.update(chunk);
      done(null, chunk);
    },
  });
  // The request is piped rather than put in the pipeline: a pipeline would destroy it on a
  // refusal, and with it the socket the 413 must still be written to.
  const interrupted = () => {
    if (!source.readableEnded) measure.destroy(new DomainError('validation_failed', 'the upload was interrupted'));
  };
  source.once('close', interrupted).once('error', interrupted);
  source.pipe(measure);
  try {
    await pipeline(measure, createWriteStream(file, { flags: 'wx' }));
    await fsync(file);
    return { file, hash: hash.digest('hex'), size };
  } catch (error) {
    source.unpipe(measure);
    await rm(file, { force: true });
    throw error;
  } finally {
    source.off('close', interrupted).off('error', interrupted);
  }
}

/** The rename that publishes a file is only as durable as the bytes under it. */
export async function fsync(path: string): Promise<void> {
  const handle = await open(path, 'r');
  try {
    await handle.sync();
  } finally {
    await handle.close();
  }
}
