import { z } from 'zod';

/** A media file's address: the SHA-256 of its bytes, lower-case hex. */
export const mediaHash = z.string().regex(/^[0-9a-f]{64}$/, 'a SHA-256 in lower-case hex');

/*
 * Where things live in the blob store. Two hex digits of the hash spread the files over folders.
 * The info object is written last and removed first: a file counts as stored while it exists.
 */
const shard = (hash: string) => `${hash.slice(0, 2)}/${hash}`;
export const contentKey = (hash: string) => `content/${shard(hash)}`;
export const thumbnailKey = (hash: string) => `thumbnails/${shard(hash)}`;
export const INFO_PREFIX = 'info/';
export const infoKey = (hash: string) => `${INFO_PREFIX}${shard(hash)}.json`;
export const hashOfInfoKey = (key: string) => key.slice(key.lastIndexOf('/') + 1, -'.json'.length);
/** One empty marker per user who uploaded the file: what lets them send it. */
export const uploadsPrefix = (hash: string) => `uploads/${hash}/`;
export const uploadKey = (hash: string, userId: string) => `${uploadsPrefix(hash)}${Buffer.from(userId).toString('base64url')}`;
