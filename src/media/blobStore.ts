import type { Readable } from 'node:stream';

/** Bytes `start` to `end`, both included (as in a Range header). */
export interface ByteRange {
  start: number;
  end: number;
}

export interface StoredObject {
  key: string;
  size: number;
  lastModified: Date;
}

/**
 * Where media objects live, by key: a folder (embedded) or an S3-compatible bucket (distributed).
 * Every write is whole or absent: a reader never sees half an object. Keys are content addresses,
 * so writing a key that exists changes nothing.
 */
export interface BlobStore {
  /** Stores the finished local file under `key`; the file is consumed (moved or copied away). */
  putFile(key: string, file: string, contentType: string): Promise<void>;
  putBytes(key: string, bytes: Buffer, contentType: string): Promise<void>;
  /** A small object's bytes, or null when there is none. */
  getBytes(key: string): Promise<Buffer | null>;
  exists(key: string): Promise<boolean>;
  open(key: string, range?: ByteRange): Promise<Readable>;
  /**
   * A short-lived URL a client downloads the object from without passing through this service,
   * answered with the given Cache-Control; null when the store has none (a local folder).
   */
  signedUrl(key: string, options: { expiresInSeconds: number; cacheControl: string }): Promise<string | null>;
  list(prefix: string): AsyncIterable<StoredObject>;
  delete(keys: string[]): Promise<void>;
}
