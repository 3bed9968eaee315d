import { join } from 'node:path';
import type { Config } from '../config.js';
import type { BlobStore } from './blobStore.js';
import { FsBlobStore } from './fsBlobStore.js';
import { S3BlobStore } from './s3BlobStore.js';

export interface OpenedBlobStore {
  blobs: BlobStore;
  /** Where uploads are spooled before they are stored: local disk, next to the folder store. */
  spoolDir: string;
  close(): void;
}

/** The configured media store: a folder under DATA_DIR, or an S3-compatible bucket. */
export async function openBlobStore(config: Config): Promise<OpenedBlobStore> {
  const folder = new FsBlobStore(join(config.DATA_DIR, 'media'));
  if (config.MEDIA_STORE === 'fs') return { blobs: folder, spoolDir: folder.spoolDir, close: () => {} };
  // loadConfig refuses MEDIA_STORE=s3 without MEDIA_S3_BUCKET.
  const s3 = await S3BlobStore.open({
    bucket: config.MEDIA_S3_BUCKET!,
    region: config.MEDIA_S3_REGION,
    endpoint: config.MEDIA_S3_ENDPOINT,
    publicEndpoint: config.MEDIA_S3_PUBLIC_ENDPOINT,
    credentials:
      config.MEDIA_S3_ACCESS_KEY_ID && config.MEDIA_S3_SECRET_ACCESS_KEY
        ? { accessKeyId: config.MEDIA_S3_ACCESS_KEY_ID, secretAccessKey: config.MEDIA_S3_SECRET_ACCESS_KEY }
        : undefined,
  });
  return { blobs: s3, spoolDir: folder.spoolDir, close: () => s3.close() };
}
