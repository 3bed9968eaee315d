import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { classifyResults, isStale, pushPayload, pushRecipients, type PushContent, type Recipient } from './decide.js';

const member = (userId: string, over: Partial<Recipient> = {}): Recipient => ({ userId, online: false, muted: false, tokens: [`${userId}-t`], ...over });

const content = (over: Partial<PushContent> = {}): PushContent => ({
  conversationId: 'c1',
  conversationKind: 'direct',
  conversationTitle: null,
  seq: 7,
  senderName: 'Alice',
  message: { messageId: 'm1', senderId: 'alice', clientMsgId: 'x', kind: 'text', text: 'see you at 8', media: null },
  ...over,
});

describe('push decision', () => {
  it('pushes to offline, unmuted members with devices, never to the sender', () => {
    const members = [
      member('alice'),
      member('bob'),
      member('carol', { online: true }),
      member('dave', { muted: true }),
      member('erin', { tokens: [] }),
      member('frank', { tokens: ['f1', 'f2'] }),
    ];
    assert.deepEqual(
      pushRecipients('alice', members).map((r) => r.userId),
      ['bob', 'frank'],
    );
  });

  it('a direct message is titled with the sender and shows the text', () => {
    const p = pushPayload(content(), 'show');
    assert.deepEqual(p.notification, { title: 'Alice', body: 'see you at 8' });
    assert.deepEqual(p.data, { type: 'message', conversationId: 'c1', seq: '7', messageId: 'm1', senderId: 'alice' });
    assert.equal(p.android.notification.tag, 'm1');
    assert.equal(p.apns.headers['apns-collapse-id'], 'm1');
    assert.equal(p.apns.payload.aps.threadId, 'c1');
  });

  it('a group message is titled with the group and names the sender in the body', () => {
    const p = pushPayload(content({ conversationKind: 'group', conversationTitle: 'Climbing' }), 'show');
    assert.deepEqual(p.notification, { title: 'Climbing', body: 'Alice: see you at 8' });
  });

  it('hides the content when previews are off, everywhere in the payload', () => {
    const p = pushPayload(content({ conversationKind: 'group', conversationTitle: 'Climbing' }), 'hide');
    assert.deepEqual(p.notification, { title: 'Climbing', body: 'Alice: New message' });
    assert.ok(!JSON.stringify(p).includes('see you'));
  });

  it('shortens long texts and describes attachments', () => {
    const long = pushPayload(content({ message: { ...content().message, text: 'x'.repeat(500) } }), 'show');
    assert.equal(long.notification.body.length, 120);
    assert.ok(long.notification.body.endsWith('…'));
  });

  it('names what a media or location message carries, with its caption', () => {
    const file = (mime: string, text: string | null = null) => ({ ...content().message, kind: 'media' as const, text, media: { hash: 'h', mime, size: 1, name: null } });
    const body = (message: PushContent['message']) => pushPayload(content({ message }), 'show').notification.body;
    assert.deepEqual(
      [file('image/jpeg'), file('image/png', 'the view'), file('video/mp4'), file('audio/ogg'), file('application/pdf')].map(body),
      ['Photo', 'Photo: the view', 'Video', 'Voice message', 'File'],
    );
    const at = (name?: string) => ({ ...content().message, kind: 'location' as const, text: null, location: { lat: 1, lng: 2, ...(name ? { name } : {}) } });
    assert.deepEqual([body(at()), body(at('Home'))], ['Location', 'Location: Home']);
  });

  it('is stale only past the maximum age', () => {
    const now = Date.parse('2030-01-01T12:00:00.000Z');
    assert.equal(isStale('2030-01-01T11:00:00.000Z', now, 3_600_000), false);
    assert.equal(isStale('2030-01-01T10:59:59.999Z', now, 3_600_000), true);
  });
});

describe('push results', () => {
  it('prunes unregistered tokens, retries transient failures, keeps the rest', () => {
    const c = classifyResults([
      { token: 'ok' },
      { token: 'gone', errorCode: 'messaging/registration-token-not-registered' },
      { token: 'busy', errorCode: 'messaging/server-unavailable' },
      { token: 'net', errorCode: 'app/network-error' },
      { token: 'auth', errorCode: 'messaging/third-party-auth-error' },
    ]);
    assert.deepEqual(c.sent, ['ok']);
    assert.deepEqual(c.prune, ['gone']);
    assert.deepEqual(c.retry, ['busy', 'net']);
    assert.deepEqual(c.failed, [{ token: 'auth', errorCode: 'messaging/third-party-auth-error' }]);
  });

  it('blames the token for INVALID_ARGUMENT only when the same payload got through to another token', () => {
    const invalid = 'messaging/invalid-argument';
    assert.deepEqual(classifyResults([{ token: 'ok' }, { token: 'bad', errorCode: invalid }]).prune, ['bad']);
    const alone = classifyResults([{ token: 'bad', errorCode: invalid }]);
    assert.deepEqual(alone.prune, []);
    assert.deepEqual(alone.failed, [{ token: 'bad', errorCode: invalid }]);
  });
});
