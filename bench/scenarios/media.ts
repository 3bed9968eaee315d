import { randomBytes } from 'node:crypto';
import { rssBytes, startChatServer } from '../lib/proc.js';
import { Seeder } from '../lib/seed.js';
import { profileArgs, type Scenario } from './types.js';

const MiB = 1024 * 1024;
/** Sniffed as a PDF: the rest of a synthetic file can be anything. */
const PDF_HEADER = Buffer.from('%PDF-1.7\n');

/**
 * A synthetic document of `bytes` bytes, produced as it is sent: the harness holds one random MiB,
 * not the file, and each file starts with its own bytes so no two share a hash.
 */
function document(bytes: number, chunk: Buffer): ReadableStream<Uint8Array> {
  let sent = 0;
  return new ReadableStream({
    pull(controller) {
      if (sent >= bytes) return controller.close();
      const head = sent === 0 ? Buffer.concat([PDF_HEADER, randomBytes(32)]) : Buffer.alloc(0);
      const part = Buffer.concat([head, chunk]).subarray(0, bytes - sent);
      sent += part.length;
      controller.enqueue(part);
    },
  });
}

async function upload(url: string, token: string, bytes: number, chunk: Buffer): Promise<string> {
  const res = await fetch(`${url}/v1/media`, {
    method: 'POST',
    headers: { authorization: `Bearer ${token}`, 'content-length': String(bytes) },
    body: document(bytes, chunk),
    duplex: 'half',
  } as RequestInit);
  const body = (await res.json()) as { hash?: string };
  if (res.status !== 201 || !body.hash) throw new Error(`upload answered ${res.status} ${JSON.stringify(body)}`);
  return body.hash;
}

async function download(url: string, token: string, hash: string): Promise<number> {
  const res = await fetch(`${url}/v1/media/${hash}`, { headers: { authorization: `Bearer ${token}` } });
  let bytes = 0;
  for await (const part of res.body!) bytes += part.length;
  if (res.status !== 200) throw new Error(`download answered ${res.status}`);
  return bytes;
}

const mibPerSecond = (bytes: number, ms: number) => bytes / MiB / (ms / 1000);

/**
 * Uploads and downloads of a 5 MiB file, one at a time (MiB/s), and the server's RSS while 20
 * uploads of 50 MiB each stream in at once: streaming keeps it near the idle figure, whatever the
 * files' size.
 */
export const media: Scenario = async (options, dir) => {
  const rounds = options.quick ? 5 : 20;
  const parallel = 20;
  const bigBytes = (options.quick ? 10 : 50) * MiB;
  const seeder = new Seeder(dir);
  const [me] = await seeder.users(1, 'uploader');
  seeder.close();
  const server = await startChatServer(dir, { nodeArgs: profileArgs(options, 'media') });
  const chunk = randomBytes(MiB);
  try {
    let started = Date.now();
    const hashes: string[] = [];
    for (let i = 0; i < rounds; i++) hashes.push(await upload(server.url, me!.token, 5 * MiB, chunk));
    const uploadRate = mibPerSecond(rounds * 5 * MiB, Date.now() - started);
    started = Date.now();
    let downloaded = 0;
    for (const hash of hashes) downloaded += await download(server.url, me!.token, hash);
    const downloadRate = mibPerSecond(downloaded, Date.now() - started);

    const idleRss = rssBytes(server.pid);
    let peakRss = idleRss;
    const sampler = setInterval(() => (peakRss = Math.max(peakRss, rssBytes(server.pid))), 50);
    started = Date.now();
    try {
      await Promise.all(Array.from({ length: parallel }, () => upload(server.url, me!.token, bigBytes, chunk)));
    } finally {
      clearInterval(sampler);
    }
    const parallelRate = mibPerSecond(parallel * bigBytes, Date.now() - started);
    const note = `${parallel} x ${bigBytes / MiB} MiB at once`;
    return {
      rows: [
        { scenario: 'media', metric: 'upload 5 MiB', value: uploadRate, unit: 'MiB/s', note: `${rounds} sequential uploads (hash, sniff, fsync, rename)` },
        { scenario: 'media', metric: 'download 5 MiB', value: downloadRate, unit: 'MiB/s', note: `${rounds} sequential downloads` },
        { scenario: 'media', metric: 'server RSS idle', value: idleRss / MiB, unit: 'MiB' },
        { scenario: 'media', metric: 'server RSS peak, parallel uploads', value: peakRss / MiB, unit: 'MiB', note },
        { scenario: 'media', metric: 'parallel upload throughput', value: parallelRate, unit: 'MiB/s', note },
      ],
      details: { rounds, uploadRate, downloadRate, idleRss, peakRss, parallel, bigBytes, parallelRate },
    };
  } finally {
    await server.stop();
  }
};
