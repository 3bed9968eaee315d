import type { MediaReferenceQueries } from '../projections/ports.js';
import type { BlobStore } from './blobStore.js';
import { INFO_PREFIX, contentKey, hashOfInfoKey, infoKey, thumbnailKey, uploadsPrefix } from './keys.js';

export interface Unreferenced {
  hash: string;
  /** The file's own bytes (its thumbnail and info aside). */
  bytes: number;
}

export interface GcOptions {
  /** Files uploaded (by anyone) more recently than this are kept: a message may be on its way. */
  graceMs: number;
  nowMs: number;
  /** false: only report what would go. */
  remove: boolean;
  /** Called with the files examined so far, out of `total`. */
  onProgress?(examined: number, total: number): void;
}

/**
 * Finds the files no message carries (a recalled message carries none) whose last upload is older
 * than the grace period, and removes them unless asked only to report. A file goes info first, so
 * it stops counting as stored before its bytes are deleted.
 */
export async function collectGarbage(blobs: BlobStore, references: MediaReferenceQueries, options: GcOptions): Promise<Unreferenced[]> {
  const cutoff = options.nowMs - options.graceMs;
  const infos = [];
  for await (const info of blobs.list(INFO_PREFIX)) infos.push(info);
  const garbage: Unreferenced[] = [];
  for (const [i, info] of infos.entries()) {
    const hash = hashOfInfoKey(info.key);
    const uploads = [];
    for await (const upload of blobs.list(uploadsPrefix(hash))) uploads.push(upload);
    const lastUpload = Math.max(info.lastModified.getTime(), ...uploads.map((u) => u.lastModified.getTime()));
    if (lastUpload < cutoff && (await references.mediaReferences(hash, 1)).length === 0) {
      const content = await firstOf(blobs.list(contentKey(hash)));
      garbage.push({ hash, bytes: content?.size ?? 0 });
      if (options.remove) {
        await blobs.delete([infoKey(hash)]);
        await blobs.delete([contentKey(hash), thumbnailKey(hash), ...uploads.map((u) => u.key)]);
      }
    }
    options.onProgress?.(i + 1, infos.length);
  }
  return garbage;
}

async function firstOf<T>(items: AsyncIterable<T>): Promise<T | undefined> {
  for await (const item of items) return item;
  return undefined;
}
