import { Readable } from 'node:stream';
import { cachedAnswer, downloadAnswer, immutableHeaders } from '../../media/index.js';
import { file, json, noBody } from '../answers.js';
import * as r from '../responses.js';
import { route } from '../route.js';
import * as s from '../schemas.js';
import type { ApiDeps } from './deps.js';

export function mediaRoutes({ media }: ApiDeps) {
  return [
    route({
      method: 'post',
      path: '/v1/media',
      summary: 'Upload a photo, video, voice message or document as raw bytes (streamed; the type is sniffed from them)',
      query: s.uploadQuery,
      streamBody: true,
      status: 201,
      responses: { 201: json('Stored (or already stored): what the service learnt of the file', r.upload) },
      async handler({ principal, query, stream, headers }) {
        const declaredBytes = headers['content-length'] === undefined ? undefined : Number(headers['content-length']);
        return { body: await media.upload(principal.userId, stream, { name: query.name ?? null, declaredBytes }) };
      },
    }),
    route({
      method: 'get',
      path: '/v1/media/:hash',
      summary: 'Download a file (its uploader, or who may see a message carrying it); Range, immutable ETag; a presigned URL where the store has one',
      params: s.mediaParams,
      status: 200,
      responses: {
        200: file('The file, of its own type', '*/*'),
        206: file('The part of the file the Range asked for', '*/*'),
        302: noBody('The store serves it: a presigned URL in Location'),
        304: noBody('The client holds it (If-None-Match)'),
        416: noBody('The Range is outside the file'),
      },
      refusals: [403, 404],
      async handler({ principal, params, headers }) {
        const info = await media.readable(principal.userId, params.hash);
        const url = await media.contentUrl(info.hash);
        // The client may reuse the URL, but not for longer than it stays valid.
        if (url) return { status: 302, headers: { location: url, 'cache-control': `private, max-age=${Math.floor(media.urlTtlSeconds / 2)}` } };
        const answer = downloadAnswer(headers, info.hash, info.mime, info.size);
        if (answer.status === 304 || answer.status === 416) return { status: answer.status, headers: answer.headers };
        return { status: answer.status, headers: answer.headers, stream: await media.openContent(info.hash, answer.range) };
      },
    }),
    route({
      method: 'get',
      path: '/v1/media/:hash/thumbnail',
      summary: "An image's thumbnail (WebP, at most 320 pixels a side), for whoever may download the image",
      params: s.mediaParams,
      status: 200,
      responses: { 200: file('The thumbnail', 'image/webp'), 304: noBody('The client holds it (If-None-Match)') },
      refusals: [403, 404],
      async handler({ principal, params, headers }) {
        const info = await media.readable(principal.userId, params.hash);
        const answer = immutableHeaders(`${info.hash}-thumbnail`, 'image/webp');
        if (cachedAnswer(headers, answer) === 304) return { status: 304, headers: answer };
        return { headers: answer, stream: Readable.from([await media.thumbnail(info)]) };
      },
    }),
  ];
}
