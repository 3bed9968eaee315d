import { notFound } from '../../domain/errors.js';
import { viewOf } from '../../domain/user.js';
import { json } from '../answers.js';
import * as r from '../responses.js';
import { route } from '../route.js';
import * as s from '../schemas.js';
import { messageItem, messageReceipts } from '../views.js';
import type { ApiDeps } from './deps.js';

export function messageRoutes({ service, readStore, media }: ApiDeps) {
  const { conversationCommands: commands, access } = service;
  return [
    route({
      method: 'post',
      path: '/v1/conversations/:id/messages',
      summary: 'Send text, media (uploaded by the sender) or a location (idempotent by clientMsgId: a retry answers 200 with the original)',
      params: s.conversationParams,
      body: s.sendBody,
      status: 201,
      responses: { 201: json('Sent', r.sent), 200: json('Sent before with this clientMsgId: the original', r.sent) },
      refusals: [403, 404, 409],
      rateLimit: 'send',
      readYourWrites: true,
      async handler({ principal, params, body, ctx }) {
        const attachment = await media.attachment(principal.userId, body);
        const sent = await commands.send(principal.userId, params.id, body.clientMsgId, body.text ?? null, ctx, attachment);
        return { status: sent.created ? 201 : 200, body: { messageId: sent.messageId, seq: sent.seq }, position: sent.position };
      },
    }),
    route({
      method: 'get',
      path: '/v1/conversations/:id/messages',
      summary: 'Message history by seq, ascending (only beforeSeq: the newest page before it)',
      params: s.conversationParams,
      query: s.messagesQuery,
      status: 200,
      responses: { 200: json('A page of messages', r.messageList) },
      refusals: [403, 404],
      async handler({ principal, params, query }) {
        const { maxSeq } = await access.visibleConversation(principal.userId, params.id);
        const hidden = viewOf(await service.userCommands.requireUser(principal.userId), params.id);
        const items = await readStore.listMessages(params.id, { ...query, maxSeq, hidden });
        return { body: { items: items.map(messageItem) } };
      },
    }),
    route({
      method: 'patch',
      path: '/v1/conversations/:id/messages/:seq',
      summary: 'Edit my message (within 24 hours)',
      params: s.messageParams,
      body: s.editBody,
      status: 200,
      responses: { 200: json('Edited', r.messageChanged) },
      refusals: [403, 404, 409],
      readYourWrites: true,
      async handler({ principal, params, body, ctx }) {
        const { events, position } = await commands.editMessage(principal.userId, params.id, params.seq, body.text, ctx);
        return { body: { seq: params.seq, eventSeq: events[0]!.seq }, position };
      },
    }),
    route({
      method: 'delete',
      path: '/v1/conversations/:id/messages/:seq',
      summary: 'Recall a message (its sender, or an owner or admin; within 24 hours)',
      params: s.messageParams,
      status: 200,
      responses: { 200: json('Recalled', r.messageChanged) },
      refusals: [403, 404, 409],
      readYourWrites: true,
      async handler({ principal, params, ctx }) {
        const { events, position } = await commands.recallMessage(principal.userId, params.id, params.seq, ctx);
        return { body: { seq: params.seq, eventSeq: events[0]!.seq }, position };
      },
    }),
    route({
      method: 'get',
      path: '/v1/conversations/:id/messages/:seq/receipts',
      summary: 'Who of the members at the time has received and who has read a message',
      params: s.messageParams,
      status: 200,
      responses: { 200: json('Its receipts', r.receipts) },
      refusals: [403, 404],
      async handler({ principal, params }) {
        const { maxSeq } = await access.visibleConversation(principal.userId, params.id);
        const [message] = await readStore.listMessages(params.id, { afterSeq: params.seq - 1, beforeSeq: params.seq + 1, maxSeq, limit: 1 });
        if (!message) throw notFound('message');
        return { body: messageReceipts(message, await readStore.listMembers(params.id)) };
      },
    }),
    ...(['read', 'delivered'] as const).map((marker) =>
      route({
        method: 'post',
        path: `/v1/conversations/:id/${marker}`,
        summary: marker === 'read' ? 'Move my read marker forward (implies delivered)' : 'Move my delivered marker forward',
        params: s.conversationParams,
        body: s.markerBody,
        status: 200,
        responses: { 200: marker === 'read' ? json('My read marker, and what is left unread', r.readMarker) : json('My delivered marker', r.deliveredMarker) },
        refusals: [403, 404, 409],
        readYourWrites: true,
        async handler({ principal, params, body, ctx }) {
          const { position, ...result } =
            marker === 'read'
              ? await commands.markRead(principal.userId, params.id, body.upToSeq, ctx)
              : await commands.markDelivered(principal.userId, params.id, body.upToSeq, ctx);
          return { body: result, position };
        },
      }),
    ),
  ];
}
