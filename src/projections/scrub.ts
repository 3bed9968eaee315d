import type { MessageKind } from '../domain/events.js';
import { emptiedContent, erasedEventData, erasedPreview } from '../privacy/erasure.js';
import type { Collection, ConversationDoc, FrozenView, ScrubTarget } from './model.js';

/*
 * What a scrub write (model.ts) does to each read model, for every store alike: which documents
 * hold an erased account's content, and what they hold once scrubbed. A scrubbed document is
 * exactly what projecting the erased events gives (src/privacy/erasure.ts), so the live read models
 * and a rebuild from position 0 end up the same.
 */

type Doc = Record<string, unknown>;

/** A document holds the user's content when the field at `path` is the user's id (and, in the inbox, the entry is of `type`). */
export interface Owner {
  path: readonly string[];
  type?: string;
}

export interface Scrub {
  /** The collection, or the inbox, the scrub empties. */
  table: Collection | 'inbox';
  owners: readonly Owner[];
  /** Set on every scrubbed document: documents with it are skipped, so a scrub applied again changes nothing. */
  done: readonly string[];
  /** The document with the user's content replaced by its stand-ins, everything else kept. */
  scrub(doc: Doc): Doc;
}

const frozenPreviewErased = (frozen: FrozenView): FrozenView => ({ ...frozen, lastMessage: erasedPreview(frozen.lastMessage!) });

export const scrubs: Readonly<Record<ScrubTarget, Scrub>> = {
  messages: {
    table: 'messages',
    owners: [{ path: ['senderId'] }],
    done: ['erased'],
    scrub: (doc) => ({ ...doc, ...emptiedContent(doc.kind as MessageKind), erased: true }),
  },
  conversationPreviews: {
    table: 'conversations',
    owners: [{ path: ['lastMessage', 'senderId'] }],
    done: ['lastMessage', 'erased'],
    scrub: (doc) => ({ ...doc, lastMessage: erasedPreview((doc as unknown as ConversationDoc).lastMessage!) }),
  },
  frozenPreviews: {
    table: 'userConversations',
    owners: [{ path: ['frozen', 'lastMessage', 'senderId'] }],
    done: ['frozen', 'lastMessage', 'erased'],
    scrub: (doc) => ({ ...doc, frozen: frozenPreviewErased(doc.frozen as FrozenView) }),
  },
  // The inbox keeps each event's data as projected: only messages and edits carry a sender's content.
  inbox: {
    table: 'inbox',
    owners: [
      { type: 'MessageSent', path: ['data', 'senderId'] },
      { type: 'MessageEdited', path: ['data', 'editorId'] },
    ],
    done: ['data', 'erased'],
    scrub: (entry) => ({ ...entry, data: erasedEventData(entry.type as string, entry.data as Doc) }),
  },
};
