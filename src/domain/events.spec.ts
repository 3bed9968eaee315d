import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { DomainError } from './errors.js';
import { CURRENT_SCHEMA_VERSION, parseEvent } from './events.js';

describe('event schemas', () => {
  it('parses a known event at the current version', () => {
    const event = parseEvent('MessageRead', CURRENT_SCHEMA_VERSION, { userId: 'u1', upToSeq: 4 });
    assert.deepEqual(event, { type: 'MessageRead', data: { userId: 'u1', upToSeq: 4 } });
  });

  it('refuses an event of a future schema version loudly', () => {
    assert.throws(
      () => parseEvent('MessageRead', CURRENT_SCHEMA_VERSION + 1, { userId: 'u1', upToSeq: 4 }),
      (e: unknown) => e instanceof DomainError && e.code === 'unknown_event_version' && /newer than this build/.test(e.message),
    );
  });

  it('reads a MessageSent written before media messages exactly as before, and one without kind or media as text', () => {
    const text = { messageId: 'm1', senderId: 'u1', clientMsgId: 'k1', kind: 'text', text: 'hi', media: null };
    assert.deepEqual(parseEvent('MessageSent', 1, text).data, text);
    assert.deepEqual(parseEvent('MessageSent', 1, { messageId: 'm1', senderId: 'u1', clientMsgId: 'k1', text: 'hi' }).data, text);
    const photo = { hash: 'h', mime: 'image/png', size: 3, name: null };
    assert.deepEqual(parseEvent('MessageSent', 1, { ...text, kind: 'media', text: null, media: photo }).data, { ...text, kind: 'media', text: null, media: photo });
  });

  it('refuses unknown event types and malformed data', () => {
    assert.throws(() => parseEvent('MessageTeleported', 1, {}), (e: unknown) => e instanceof DomainError && e.code === 'unknown_event_version');
    assert.throws(() => parseEvent('MessageRead', 1, { userId: 'u1', upToSeq: -1 }));
  });
});
