import { json } from '../answers.js';
import * as r from '../responses.js';
import { viewOf } from '../../domain/user.js';
import { route } from '../route.js';
import * as s from '../schemas.js';
import { readableInbox, readableTimeline, syncItem } from '../views.js';
import type { ApiDeps } from './deps.js';

/** Catching up: one conversation's timeline by seq, or everything in my inbox by userSeq. */
export function syncRoutes({ service, store, readStore }: ApiDeps) {
  return [
    route({
      method: 'get',
      path: '/v1/conversations/:id/events',
      summary: 'The timeline: every event of the conversation by seq, gap-free',
      params: s.conversationParams,
      query: s.eventsQuery,
      status: 200,
      responses: { 200: json('A page of the timeline', r.timeline) },
      refusals: [403, 404],
      async handler({ principal, params, query }) {
        const { maxSeq } = await service.access.visibleConversation(principal.userId, params.id);
        const fromRevision = (query.afterSeq ?? -1) + 1;
        const count = Math.min(query.limit, maxSeq - fromRevision + 1);
        const view = viewOf(await service.userCommands.requireUser(principal.userId), params.id);
        const items = count > 0 ? await readableTimeline(store, service.conversations, params.id, fromRevision, count, view) : [];
        return { body: { items } };
      },
    }),
    route({
      method: 'get',
      path: '/v1/sync',
      summary: 'Everything in my inbox after a userSeq (multi-device sync)',
      query: s.syncQuery,
      status: 200,
      responses: { 200: json('A page of my inbox', r.inbox) },
      async handler({ principal, query }) {
        const entries = await readStore.listInbox(principal.userId, query.afterUserSeq, query.limit);
        const nextUserSeq = entries.length ? entries[entries.length - 1]!.userSeq : query.afterUserSeq;
        const { views } = await service.userCommands.requireUser(principal.userId);
        const items = (await readableInbox(readStore, entries, views)).map(syncItem);
        return { body: { items, nextUserSeq, hasMore: entries.length === query.limit } };
      },
    }),
  ];
}
