/**
 * A fresh clientMsgId. getRandomValues, unlike randomUUID, also exists on pages served over plain
 * HTTP from another host than localhost (not a secure context).
 */
export function newClientMsgId(): string {
  const bytes = globalThis.crypto.getRandomValues(new Uint8Array(16));
  return Array.from(bytes, (b) => b.toString(16).padStart(2, '0')).join('');
}
