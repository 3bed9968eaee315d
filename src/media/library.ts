import { rm } from 'node:fs/promises';
import type { Readable } from 'node:stream';
import { fileTypeFromFile } from 'file-type';
import { z } from 'zod';
import { DomainError, invalid, notFound } from '../domain/errors.js';
import type { Attachment } from '../domain/commands.js';
import type { Location, Media } from '../domain/events.js';
import { definedOnly } from '../domain/user.js';
import type { MediaReferenceQueries } from '../projections/ports.js';
import { isAllowedMime, isThumbnailable } from './allowList.js';
import type { BlobStore } from './blobStore.js';
import { IMMUTABLE } from './http.js';
import { contentKey, infoKey, thumbnailKey, uploadKey } from './keys.js';
import { probeImage } from './probe.js';
import { spool, tooLarge, type Spooled } from './spool.js';

/** What the service knows of a stored file, kept next to it; the same for every uploader. */
export const mediaInfo = z.object({
  hash: z.string(),
  mime: z.string(),
  size: z.number().int().nonnegative(),
  width: z.number().int().positive().optional(),
  height: z.number().int().positive().optional(),
  durationMs: z.number().int().nonnegative().optional(),
  thumbnail: z.object({ width: z.number().int().positive(), height: z.number().int().positive() }).optional(),
  storedAt: z.iso.datetime(),
});
export type MediaInfo = z.infer<typeof mediaInfo>;

/** Who may see which message: the conversation's own rule (members, and former members up to their leaving). */
export interface MessageVisibility {
  canSee(userId: string, conversationId: string, seq: number): Promise<boolean>;
}

export interface MediaLibraryOptions {
  maxBytes: number;
  /** Uploads are spooled here before they are stored. */
  spoolDir: string;
  /** How long a presigned download URL stays valid. */
  urlTtlSeconds: number;
}

export interface MediaLibraryDeps {
  blobs: BlobStore;
  references: MediaReferenceQueries;
  visibility: MessageVisibility;
  /** Resolves once the read models include everything stored so far. */
  caughtUp(): Promise<unknown>;
  options: MediaLibraryOptions;
}

/** A file is readable through this many of the messages that carry it at most (a forwarded meme has many). */
const REFERENCES_CHECKED = 1000;
const NOTHING = Buffer.alloc(0);

/**
 * Media files by content address: uploads are streamed, hashed, sniffed, measured and stored once
 * however often they are uploaded; a message may carry a file its sender uploaded; a file is read
 * by its uploaders and by whoever may see a message carrying it.
 */
export class MediaLibrary {
  constructor(private readonly deps: MediaLibraryDeps) {}

  get maxBytes() {
    return this.deps.options.maxBytes;
  }

  async upload(userId: string, source: Readable, { name, declaredBytes }: { name: string | null; declaredBytes?: number }) {
    const { blobs, options } = this.deps;
    if (declaredBytes !== undefined && declaredBytes > options.maxBytes) throw tooLarge(options.maxBytes);
    const spooled = await spool(source, options.spoolDir, options.maxBytes);
    try {
      const info = (await this.info(spooled.hash)) ?? (await this.store(spooled));
      await blobs.putBytes(uploadKey(info.hash, userId), NOTHING, 'application/octet-stream');
      return uploadAnswer(info, name);
    } finally {
      await rm(spooled.file, { force: true });
    }
  }

  /** What a send carries besides text, its media checked as the sender's own upload. */
  async attachment(userId: string, content: { media?: { hash: string; name?: string }; location?: Location }): Promise<Attachment | undefined> {
    if (content.media) return { media: await this.attachable(userId, content.media) };
    return content.location && { location: content.location };
  }

  /** The media a message may carry: only a file this sender uploaded; a made-up hash is refused. */
  async attachable(userId: string, ref: { hash: string; name?: string }): Promise<Media> {
    const [info, uploaded] = await Promise.all([this.info(ref.hash), this.deps.blobs.exists(uploadKey(ref.hash, userId))]);
    if (!info || !uploaded) throw invalid(`media ${ref.hash} is not a file you uploaded`);
    const { hash, mime, size, width, height, durationMs } = info;
    return { hash, mime, size, name: ref.name ?? null, ...definedOnly({ width, height, durationMs }) };
  }

  /**
   * The file, for a user allowed to read it: its uploader, or someone who may see a message that
   * carries it. Anyone else gets 404, as if it did not exist.
   */
  async readable(userId: string, hash: string): Promise<MediaInfo> {
    const info = await this.info(hash);
    if (!info) throw notFound('media');
    if (await this.deps.blobs.exists(uploadKey(hash, userId))) return info;
    if (await this.seenInMessage(userId, hash)) return info;
    // The message may be on its way to the read models (the recipient heard of it over the socket first).
    await this.deps.caughtUp();
    if (await this.seenInMessage(userId, hash)) return info;
    throw notFound('media');
  }

  /** Where the bytes are: a presigned URL when the store has them (S3), else read them here. */
  contentUrl(hash: string): Promise<string | null> {
    return this.deps.blobs.signedUrl(contentKey(hash), { expiresInSeconds: this.deps.options.urlTtlSeconds, cacheControl: IMMUTABLE });
  }

  get urlTtlSeconds() {
    return this.deps.options.urlTtlSeconds;
  }

  openContent(hash: string, range?: { start: number; end: number }) {
    return this.deps.blobs.open(contentKey(hash), range);
  }

  async thumbnail(info: MediaInfo): Promise<Buffer> {
    const bytes = info.thumbnail ? await this.deps.blobs.getBytes(thumbnailKey(info.hash)) : null;
    if (!bytes) throw notFound('thumbnail');
    return bytes;
  }

  async info(hash: string): Promise<MediaInfo | null> {
    const bytes = await this.deps.blobs.getBytes(infoKey(hash));
    return bytes && mediaInfo.parse(JSON.parse(bytes.toString('utf8')));
  }

  private async seenInMessage(userId: string, hash: string): Promise<boolean> {
    for (const { conversationId, seq } of await this.deps.references.mediaReferences(hash, REFERENCES_CHECKED)) {
      if (await this.deps.visibility.canSee(userId, conversationId, seq)) return true;
    }
    return false;
  }

  /** A first upload: sniffed from its bytes (never the declared type), measured, then stored. */
  private async store({ file, hash, size }: Spooled): Promise<MediaInfo> {
    const { blobs } = this.deps;
    const mime = (await fileTypeFromFile(file))?.mime;
    if (!mime || !isAllowedMime(mime)) {
      throw new DomainError('unsupported_media_type', `${mime ?? 'this type of file'} is not accepted: send photos, video, audio or documents`);
    }
    const image = isThumbnailable(mime) ? await probeImage(file) : null;
    const info: MediaInfo = {
      hash,
      mime,
      size,
      ...(image ? { width: image.width, height: image.height, thumbnail: { width: image.thumbnail.width, height: image.thumbnail.height } } : {}),
      storedAt: new Date().toISOString(),
    };
    await blobs.putFile(contentKey(hash), file, mime);
    if (image) await blobs.putBytes(thumbnailKey(hash), image.thumbnail.bytes, image.thumbnail.mime);
    await blobs.putBytes(infoKey(hash), Buffer.from(JSON.stringify(info)), 'application/json');
    return info;
  }
}

/** The answer to an upload: what a send's `media` refers to, and where the thumbnail is. */
function uploadAnswer(info: MediaInfo, name: string | null) {
  const { storedAt: _storedAt, thumbnail, ...facts } = info;
  return { ...facts, name, ...(thumbnail ? { thumbnail: { ...thumbnail, url: `/v1/media/${info.hash}/thumbnail` } } : {}) };
}
