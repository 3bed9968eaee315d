import { createHash, randomInt } from 'node:crypto';
import { readdir } from 'node:fs/promises';
import { join } from 'node:path';
import sharp from 'sharp';
import type { Reply } from './client.js';

/** A PNG of the given size in a colour of its own, so no two tests upload the same file by chance. */
export const png = (width = 640, height = 480) =>
  sharp({ create: { width, height, channels: 3, background: { r: randomInt(256), g: randomInt(256), b: randomInt(256) } } })
    .png()
    .toBuffer();

export const sha256 = (bytes: Buffer) => createHash('sha256').update(bytes).digest('hex');

/** Uploads raw bytes as an app would: the body is the file, the name a query parameter. */
export async function upload(baseUrl: string, token: string | null, bytes: Buffer, name?: string): Promise<Reply> {
  const res = await fetch(`${baseUrl}/v1/media${name ? `?name=${encodeURIComponent(name)}` : ''}`, {
    method: 'POST',
    headers: { 'content-type': 'application/octet-stream', ...(token ? { authorization: `Bearer ${token}` } : {}) },
    body: new Uint8Array(bytes),
  });
  const text = await res.text();
  return { status: res.status, body: text ? JSON.parse(text) : undefined, headers: res.headers };
}

export async function download(baseUrl: string, token: string, hash: string, headers: Record<string, string> = {}) {
  const res = await fetch(`${baseUrl}/v1/media/${hash}`, { headers: { authorization: `Bearer ${token}`, ...headers } });
  return { status: res.status, headers: res.headers, bytes: Buffer.from(await res.arrayBuffer()) };
}

/** Every file under the server's media folder (its spool, and in the embedded profile its store). */
export async function mediaFiles(dataDir: string): Promise<string[]> {
  const entries = await readdir(join(dataDir, 'media'), { recursive: true, withFileTypes: true }).catch(() => []);
  return entries.filter((e) => e.isFile()).map((e) => join(e.parentPath, e.name));
}
