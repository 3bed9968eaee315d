import assert from 'node:assert/strict';
import { PUSH_CHECKPOINT } from '../../src/push/index.js';
import type { ApiClient } from './client.js';
import type { TestServer } from './server.js';
import { eventually } from './waits.js';

/** Resolves once the push worker has settled every event stored so far. */
export async function pushSettled(server: TestServer): Promise<void> {
  const head = await server.store.headPosition();
  await eventually(
    `the push worker to reach the head ${head}`,
    () => server.readStore.checkpoints(),
    (checkpoints) => (checkpoints[PUSH_CHECKPOINT] ?? 0) >= head,
  );
}

export const registerDevice = async (api: ApiClient, user: { token: string }, token: string) => {
  const res = await api.request('POST', '/v1/devices', { token: user.token, body: { token, platform: 'android' } });
  assert.equal(res.status, 201);
};
