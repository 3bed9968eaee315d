import { createCipheriv, createDecipheriv, randomBytes } from 'node:crypto';

/*
 * AES-256-GCM, from Node's crypto, for both the personal fields of an event (under the user's data
 * key, bound to the event's id so a sealed value cannot be moved to another event) and the data keys
 * themselves (under the master key, bound to the user's id).
 */

const ALGORITHM = 'aes-256-gcm';
const IV_BYTES = 12;
const TAG_BYTES = 16;
const SEALED_PREFIX = 'v1.';

/** IVs are cut from one larger random draw: a call to the system's generator per event cost more than the cipher. */
const IV_POOL_BYTES = IV_BYTES * 1024;
let ivPool = Buffer.alloc(0);
let ivOffset = 0;

function nextIv(): Buffer {
  if (ivOffset + IV_BYTES > ivPool.length) {
    ivPool = randomBytes(IV_POOL_BYTES);
    ivOffset = 0;
  }
  ivOffset += IV_BYTES;
  return ivPool.subarray(ivOffset - IV_BYTES, ivOffset);
}

export function encrypt(key: Buffer, plaintext: Buffer, context: string): Buffer {
  const iv = nextIv();
  const cipher = createCipheriv(ALGORITHM, key, iv).setAAD(Buffer.from(context));
  const body = Buffer.concat([cipher.update(plaintext), cipher.final()]);
  return Buffer.concat([iv, cipher.getAuthTag(), body]);
}

export function decrypt(key: Buffer, sealed: Buffer, context: string): Buffer {
  const decipher = createDecipheriv(ALGORITHM, key, sealed.subarray(0, IV_BYTES)).setAAD(Buffer.from(context));
  decipher.setAuthTag(sealed.subarray(IV_BYTES, IV_BYTES + TAG_BYTES));
  return Buffer.concat([decipher.update(sealed.subarray(IV_BYTES + TAG_BYTES)), decipher.final()]);
}

/** An event's personal fields as one string for its data's `sealed` field. */
export function sealFields(key: Buffer, eventId: string, fields: Record<string, unknown>): string {
  return SEALED_PREFIX + encrypt(key, Buffer.from(JSON.stringify(fields)), eventId).toString('base64url');
}

export function openFields(key: Buffer, eventId: string, sealed: string): Record<string, unknown> {
  if (!sealed.startsWith(SEALED_PREFIX)) throw new Error(`event ${eventId}: sealed data of an unknown format`);
  return JSON.parse(decrypt(key, Buffer.from(sealed.slice(SEALED_PREFIX.length), 'base64url'), eventId).toString()) as Record<string, unknown>;
}
