import assert from 'node:assert/strict';
import { PUSH_CHECKPOINT } from '../../src/push/index.js';
import type { ApiClient } from './client.js';
import type { TestServer } from './server.js';

/** Resolves once the push worker has settled every event stored so far. */
export async function pushSettled(server: TestServer, timeoutMs = 5000): Promise<void> {
  const head = await server.store.headPosition();
  const deadline = Date.now() + timeoutMs;
  while (((await server.readStore.checkpoints())[PUSH_CHECKPOINT] ?? 0) < head) {
    if (Date.now() > deadline) throw new Error(`push worker did not reach the head ${head}: ${JSON.stringify(await server.readStore.checkpoints())}`);
    await new Promise((r) => setTimeout(r, 10));
  }
}

export const registerDevice = async (api: ApiClient, user: { token: string }, token: string) => {
  const res = await api.request('POST', '/v1/devices', { token: user.token, body: { token, platform: 'android' } });
  assert.equal(res.status, 201);
};
