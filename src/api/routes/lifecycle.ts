import { z } from 'zod';
import type { PersonalView } from '../../domain/conversation.js';
import { notFound } from '../../domain/errors.js';
import { exportUser } from '../../privacy/export.js';
import type { CommandContext } from '../../commands/commandHandler.js';
import { json, type RefusalStatus } from '../answers.js';
import { route } from '../route.js';
import * as s from '../schemas.js';
import type { ApiDeps } from './deps.js';

/*
 * Delete for me (hide messages, clear history, delete a conversation from my list) and deleting a
 * group for everyone. What a user deletes for themselves is an event in their own stream: every
 * device of theirs learns it through sync, and nobody else sees any change.
 */

const seq = z.number().int().nonnegative().max(Number.MAX_SAFE_INTEGER);
const hideBody = z.strictObject({ seqs: z.array(seq).min(1).max(100) });
const clearBody = z.strictObject({ upToSeq: seq.optional() });

const personalViewAnswer = z
  .strictObject({
    conversationId: s.id,
    clearedUpToSeq: z.number().int().min(-1).meta({ description: 'history up to this seq is deleted for me; -1: none' }),
    hiddenSeqs: z.array(seq).meta({ description: 'messages after clearedUpToSeq deleted for me one by one' }),
    removedUpToSeq: z.number().int().min(-1).meta({ description: 'off my list until a message after this seq; -1: listed' }),
  })
  .meta({ id: 'PersonalView' });
const userExport = z
  .strictObject({
    userId: s.id,
    exportedAt: z.iso.datetime(),
    account: z.record(z.string(), z.unknown()),
    profile: z.record(z.string(), z.unknown()).nullable(),
    userEvents: z.array(z.record(z.string(), z.unknown())),
    conversations: z.array(z.record(z.string(), z.unknown())),
  })
  .meta({ id: 'UserExport', description: 'the same document as the operator CLI im export-user gives (README)' });
const eraseBody = z.strictObject({ password: z.string().min(1).max(1024).meta({ description: 'my password, to confirm' }) });
const erasedAnswer = z
  .strictObject({ userId: s.id, erased: z.literal(true), usernameFreeAt: z.iso.datetime().nullable() })
  .meta({ id: 'AccountErased', description: 'my personal data can no longer be read anywhere (README, "Erasing an account")' });
const deletedAnswer = z.strictObject({ conversationId: s.id, deletedSeq: seq }).meta({ id: 'ConversationDeleted' });

const personalView = (conversationId: string, view: PersonalView) => ({
  conversationId,
  clearedUpToSeq: view.clearedUpToSeq,
  hiddenSeqs: [...view.hiddenSeqs],
  removedUpToSeq: view.removedUpToSeq,
});

export function lifecycleRoutes({ service, store, readStore, tokens }: ApiDeps) {
  const { userCommands, conversationCommands } = service;
  /** A change to what I see of one conversation, answered with what I see of it now. */
  const personalRoute = <B>(spec: {
    method: 'post' | 'delete';
    path: string;
    summary: string;
    body?: z.ZodType<B>;
    refusals: RefusalStatus[];
    change(userId: string, conversationId: string, body: B, ctx: CommandContext): Promise<{ reply: PersonalView; position: number }>;
  }) =>
    route({
      method: spec.method,
      path: spec.path,
      summary: spec.summary,
      params: s.conversationParams,
      ...(spec.body ? { body: spec.body } : {}),
      status: 200,
      responses: { 200: json('What I no longer see of the conversation', personalViewAnswer) },
      refusals: spec.refusals,
      readYourWrites: true,
      async handler({ principal, params, body, ctx }) {
        const { reply, position } = await spec.change(principal.userId, params.id, body as B, ctx);
        return { body: personalView(params.id, reply), position };
      },
    });

  return [
    route({
      method: 'get',
      path: '/v1/me/export',
      summary: 'Everything stored about me as one JSON document: account, devices, settings, conversations and every event of mine (a few an hour)',
      status: 200,
      responses: { 200: json('My data', userExport) },
      rateLimit: 'export',
      async handler({ principal }) {
        const exported = await exportUser({ store, readStore }, principal.userId);
        if (!exported) throw notFound('user');
        return { body: exported, headers: { 'content-disposition': 'attachment; filename="export.json"' } };
      },
    }),
    route({
      method: 'delete',
      path: '/v1/me',
      summary: 'Erase my account: my key is deleted, so my messages, names and username can no longer be read; every token of mine stops working',
      body: eraseBody,
      status: 200,
      responses: { 200: json('The account is erased', erasedAnswer) },
      refusals: [403, 404],
      readYourWrites: true,
      async handler({ principal, body, ctx }) {
        const { position } = await userCommands.eraseSelf(principal.userId, body.password, ctx);
        await tokens.revokeUser(principal.userId);
        const { usernameFreeAt } = await userCommands.requireUser(principal.userId);
        return { body: { userId: principal.userId, erased: true as const, usernameFreeAt }, position };
      },
    }),
    personalRoute({
      method: 'post',
      path: '/v1/conversations/:id/hidden',
      summary: 'Delete messages for me: they leave my history, sync and unread count on all my devices',
      body: hideBody,
      refusals: [403, 404],
      change: (userId, id, body, ctx) => userCommands.hideMessages(userId, id, body.seqs, ctx),
    }),
    personalRoute({
      method: 'post',
      path: '/v1/conversations/:id/clear',
      summary: 'Delete my history of a conversation up to a seq (by default all I can see), for me only',
      body: clearBody,
      refusals: [403, 404],
      change: (userId, id, body, ctx) => userCommands.clearConversation(userId, id, body.upToSeq, ctx),
    }),
    personalRoute({
      method: 'delete',
      path: '/v1/me/conversations/:id',
      summary: 'Delete a direct conversation, or a group I left, from my list and history (a direct one comes back with the next message)',
      refusals: [403, 404, 409],
      change: (userId, id, _body: undefined, ctx) => userCommands.deleteConversationForMe(userId, id, ctx),
    }),
    route({
      method: 'delete',
      path: '/v1/conversations/:id',
      summary: 'Delete a group for everyone (its owner): members get a ConversationDeleted event and it leaves every list',
      params: s.conversationParams,
      status: 200,
      responses: { 200: json('The group is deleted', deletedAnswer) },
      refusals: [403, 404],
      readYourWrites: true,
      async handler({ principal, params, ctx }) {
        const { events, position } = await conversationCommands.deleteForEveryone(principal.userId, params.id, ctx);
        return { body: { conversationId: params.id, deletedSeq: events[0]!.seq }, position };
      },
    }),
  ];
}
