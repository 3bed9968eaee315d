import type { IncomingHttpHeaders } from 'node:http';
import fresh from 'fresh';
import rangeParser from 'range-parser';
import type { ByteRange } from './blobStore.js';

/** How a download is answered: the status, its headers, and for 206 the bytes to send. */
export interface DownloadAnswer {
  status: 200 | 206 | 304 | 416;
  headers: Record<string, string>;
  range?: ByteRange;
}

/**
 * A file's bytes never change under its hash: the hash is the ETag, and a client or browser cache
 * keeps it for a year without asking again. `private`: shared caches must not hand one member's
 * authorised download to anyone else.
 */
export const IMMUTABLE = 'private, max-age=31536000, immutable';

export const immutableHeaders = (etag: string, mime: string): Record<string, string> => ({
  etag: `"${etag}"`,
  'cache-control': IMMUTABLE,
  'content-type': mime,
});

/** 304 for a client that holds this version, else 200. */
export function cachedAnswer(request: IncomingHttpHeaders, headers: Record<string, string>): 200 | 304 {
  return fresh(request, { etag: headers.etag }) ? 304 : 200;
}

/**
 * The answer to a GET of a whole file of `size` bytes: 304 when the client holds it, 206 with one
 * range (several ranges are answered with the whole file, as RFC 9110 allows), 416 for a range
 * outside the file. An If-Range naming another version asks for the whole file.
 */
export function downloadAnswer(request: IncomingHttpHeaders, etag: string, mime: string, size: number): DownloadAnswer {
  const headers: Record<string, string> = { ...immutableHeaders(etag, mime), 'accept-ranges': 'bytes' };
  if (cachedAnswer(request, headers) === 304) return { status: 304, headers };
  const whole: DownloadAnswer = { status: 200, headers: { ...headers, 'content-length': String(size) } };
  const ifRange = request['if-range'];
  if (!request.range || (ifRange !== undefined && ifRange !== headers.etag)) return whole;
  const ranges = rangeParser(size, request.range, { combine: true });
  if (ranges === -1) return { status: 416, headers: { ...headers, 'content-range': `bytes */${size}` } };
  if (ranges === -2 || ranges.type !== 'bytes' || ranges.length !== 1) return whole;
  const { start, end } = ranges[0]!;
  return {
    status: 206,
    headers: { ...headers, 'content-range': `bytes ${start}-${end}/${size}`, 'content-length': String(end - start + 1) },
    range: { start, end },
  };
}
