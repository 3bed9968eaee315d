import { randomUUID } from 'node:crypto';
import { createReadStream } from 'node:fs';
import { copyFile, mkdir, readdir, readFile, rename, rm, stat, writeFile } from 'node:fs/promises';
import { dirname, join, relative, sep } from 'node:path';
import type { Readable } from 'node:stream';
import type { BlobStore, ByteRange, StoredObject } from './blobStore.js';
import { fsync } from './spool.js';

/**
 * Media in a folder (the embedded profile), one file per key. Each object is written to a temporary
 * file, flushed, and renamed into place, then the folder entry is flushed: after a crash an object
 * is either whole or absent, never torn.
 */
export class FsBlobStore implements BlobStore {
  constructor(readonly root: string) {}

  /** Temporary files live inside the root, so publishing one is a rename on the same file system. */
  get spoolDir() {
    return join(this.root, '.tmp');
  }

  async putFile(key: string, file: string): Promise<void> {
    const target = this.path(key);
    await mkdir(dirname(target), { recursive: true });
    try {
      await rename(file, target);
    } catch (error) {
      if ((error as NodeJS.ErrnoException).code !== 'EXDEV') throw error;
      await this.publish(target, (tmp) => copyFile(file, tmp));
      await rm(file, { force: true });
      return;
    }
    await fsync(dirname(target));
  }

  async putBytes(key: string, bytes: Buffer): Promise<void> {
    const target = this.path(key);
    await mkdir(dirname(target), { recursive: true });
    await this.publish(target, (tmp) => writeFile(tmp, bytes, { flag: 'wx' }));
  }

  async getBytes(key: string): Promise<Buffer | null> {
    try {
      return await readFile(this.path(key));
    } catch (error) {
      if ((error as NodeJS.ErrnoException).code === 'ENOENT') return null;
      throw error;
    }
  }

  async exists(key: string): Promise<boolean> {
    return stat(this.path(key)).then(
      () => true,
      (error: NodeJS.ErrnoException) => (error.code === 'ENOENT' ? false : Promise.reject(error)),
    );
  }

  async open(key: string, range?: ByteRange): Promise<Readable> {
    const stream = createReadStream(this.path(key), range ? { start: range.start, end: range.end } : {});
    // Fails here (a missing file) rather than half-way through an answer already under way.
    await new Promise<void>((resolve, reject) => stream.once('open', () => resolve()).once('error', reject));
    return stream;
  }

  async signedUrl(): Promise<null> {
    return null;
  }

  async *list(prefix: string): AsyncIterable<StoredObject> {
    const base = this.path(prefix);
    let entries;
    try {
      entries = await readdir(base, { recursive: true, withFileTypes: true });
    } catch (error) {
      const { code } = error as NodeJS.ErrnoException;
      if (code === 'ENOENT') return;
      // As in S3, a prefix may be a whole key.
      if (code === 'ENOTDIR') return yield await this.object(base);
      throw error;
    }
    for (const entry of entries) {
      if (entry.isFile()) yield await this.object(join(entry.parentPath, entry.name));
    }
  }

  private async object(path: string): Promise<StoredObject> {
    const { size, mtime } = await stat(path);
    return { key: relative(this.root, path).split(sep).join('/'), size, lastModified: mtime };
  }

  async delete(keys: string[]): Promise<void> {
    await Promise.all(keys.map((key) => rm(this.path(key), { force: true })));
  }

  private path(key: string): string {
    return join(this.root, ...key.split('/'));
  }

  private async publish(target: string, write: (tmp: string) => Promise<void>): Promise<void> {
    await mkdir(this.spoolDir, { recursive: true });
    const tmp = join(this.spoolDir, `${randomUUID()}.part`);
    try {
      await write(tmp);
      await fsync(tmp);
      await rename(tmp, target);
    } finally {
      await rm(tmp, { force: true });
    }
    await fsync(dirname(target));
  }
}

