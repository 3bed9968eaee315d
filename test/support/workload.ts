import type { ApiClient } from './client.js';

/** Groups above this size are pull mode in the workload's server, so both modes are exercised. */
export const PULL_THRESHOLD = 3;

/** Drives every kind of event through the API: the projections have something to get wrong. */
export async function workload(api: ApiClient) {
  const users = await Promise.all(['ann', 'ben', 'cat', 'dan', 'eve'].map((n) => api.user(n)));
  const [ann, ben, cat, dan, eve] = users as [typeof users[0], typeof users[0], typeof users[0], typeof users[0], typeof users[0]];
  const dm = await api.direct(ann, ben);
  const small = await api.group(ann, [ben, cat], 'small');
  const big = await api.group(ann, [ben, cat, dan], 'big (pull mode)');
  for (let i = 0; i < 6; i++) await api.send(i % 2 ? ben : ann, dm, `dm ${i}`);
  const edited = await api.send(cat, small, 'helo');
  await api.request('PATCH', `/v1/conversations/${small}/messages/${edited.body.seq}`, { token: cat.token, body: { text: 'hello' } });
  const recalled = await api.send(ben, small, 'oops');
  await api.request('DELETE', `/v1/conversations/${small}/messages/${recalled.body.seq}`, { token: ann.token });
  await api.request('POST', `/v1/conversations/${small}/members`, { token: ann.token, body: { userId: eve.userId } });
  await api.request('PUT', `/v1/conversations/${small}/members/${eve.userId}/role`, { token: ann.token, body: { role: 'admin' } });
  await api.request('DELETE', `/v1/conversations/${small}/members/${cat.userId}`, { token: eve.token });
  await api.send(eve, small, 'cat is gone');
  for (let i = 0; i < 5; i++) await api.send(users[i % 4]!, big, `big ${i}`);
  await api.request('POST', `/v1/conversations/${big}/read`, { token: dan.token, body: { upToSeq: 5 } });
  await api.request('POST', `/v1/conversations/${dm}/delivered`, { token: ben.token, body: { upToSeq: 6 } });
  await api.request('POST', `/v1/conversations/${dm}/read`, { token: ben.token, body: { upToSeq: 5 } });
  await api.request('PUT', `/v1/conversations/${dm}/settings`, { token: ann.token, body: { pinned: true, muted: true } });
  await api.request('PATCH', `/v1/conversations/${big}`, { token: ann.token, body: { title: 'bigger', announcement: 'hi all' } });
  await api.request('PATCH', '/v1/me', { token: dan.token, body: { displayName: 'Daniel' } });
  // Deleted for oneself (ben hides one message of the dm, clears it up to seq 2; cat deletes the group she left) and for everyone.
  await api.request('POST', `/v1/conversations/${dm}/hidden`, { token: ben.token, body: { seqs: [3] } });
  await api.request('POST', `/v1/conversations/${dm}/clear`, { token: ben.token, body: { upToSeq: 2 } });
  await api.request('DELETE', `/v1/me/conversations/${small}`, { token: cat.token });
  const doomed = await api.group(ann, [ben], 'doomed');
  await api.request('DELETE', `/v1/conversations/${doomed}`, { token: ann.token });
  return { users: { ann, ben, cat, dan, eve }, conversations: { dm, small, big } };
}
