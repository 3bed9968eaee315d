import { useLayoutEffect, useRef, useState } from 'preact/hooks';
import type { Chat } from './chat.js';
import { useAction } from './hooks.js';
import { presenceText, standIn, tickOf, timeOf, titleOf, type MessageView, type Tick } from './model.js';

/** How close to the top (in pixels) scrolling loads the page before. */
const LOAD_OLDER_WITHIN_PX = 80;

const TICKS: Record<Tick, string> = { sending: '○', sent: '✓', delivered: '✓✓', read: '✓✓' };

export function Conversation({ chat, conversationId }: { chat: Chat; conversationId: string }) {
  const item = chat.conversations.get(conversationId);
  const detail = chat.details.get(conversationId);
  const thread = chat.threads.get(conversationId);
  const me = chat.me!.userId;
  const peer = detail?.kind === 'direct' ? detail.members.find((m) => m.userId !== me) : undefined;
  const typists = [...(chat.typing.get(conversationId)?.keys() ?? [])];
  const messages = [...(thread?.messages.values() ?? [])].sort((a, b) => a.seq! - b.seq!);
  const pending = [...(thread?.pending.values() ?? [])].filter((p) => !messages.some((m) => m.clientMsgId === p.clientMsgId));
  const list = useRef<HTMLOListElement>(null);
  const scroll = useStickyScroll(list, messages[0]?.seq ?? null, messages.length + pending.length);
  const [run, , error] = useAction();

  return (
    <section class="conversation-pane" aria-label={titleOf(item)}>
      <header class="conversation-header">
        <div>
          <h2>{titleOf(item)}</h2>
          <p class="presence">{peer ? presenceText(chat.presence.get(peer.userId)) : `${detail?.members.length ?? '…'} members`}</p>
        </div>
        {item && (
          <div class="row">
            <button class="secondary" onClick={() => run(() => chat.setSettings(conversationId, { pinned: !item.pinned }))}>
              {item.pinned ? 'Unpin' : 'Pin'}
            </button>
            <button class="secondary" onClick={() => run(() => chat.setSettings(conversationId, { muted: !item.muted }))}>
              {item.muted ? 'Unmute' : 'Mute'}
            </button>
          </div>
        )}
      </header>
      {error && (
        <p role="alert" class="error">
          {error}
        </p>
      )}
      <ol
        class="messages"
        aria-label="Messages"
        ref={list}
        onScroll={(e) => {
          scroll.onScroll();
          if (e.currentTarget.scrollTop < LOAD_OLDER_WITHIN_PX) void chat.loadOlder(conversationId);
        }}
      >
        {thread && !thread.hasOlder && <li class="start">This is the beginning of the conversation.</li>}
        {[...messages, ...pending].map((m) => (
          <MessageItem key={m.seq ?? m.clientMsgId} chat={chat} conversationId={conversationId} message={m} mine={m.senderId === me} tick={tickOf(m, detail, me)} group={detail?.kind === 'group'} />
        ))}
      </ol>
      <p class="typing" aria-live="polite">
        {typists.map((userId) => `${chat.nameOf(userId)} is typing`).join(', ')}
      </p>
      <Composer chat={chat} conversationId={conversationId} />
    </section>
  );
}

function MessageItem(props: { chat: Chat; conversationId: string; message: MessageView; mine: boolean; tick: Tick; group: boolean }) {
  const { chat, conversationId, message: m, mine, tick, group } = props;
  const [editing, setEditing] = useState(false);
  const [draft, setDraft] = useState(m.text ?? '');
  const [run, , error] = useAction();
  return (
    <li class={mine ? 'message mine' : 'message'}>
      {group && !mine && <span class="sender">{chat.nameOf(m.senderId)}</span>}
      {editing ? (
        <form
          onSubmit={(e) => {
            e.preventDefault();
            run(async () => {
              await chat.edit(conversationId, m.seq!, draft);
              setEditing(false);
            });
          }}
        >
          <input aria-label="Edit message" value={draft} onInput={(e) => setDraft(e.currentTarget.value)} required />
          <button type="submit">Save</button>
          <button type="button" class="secondary" onClick={() => setEditing(false)}>
            Cancel
          </button>
        </form>
      ) : (
        <p class={standIn(m) ? 'text recalled' : 'text'}>{standIn(m) ?? m.text}</p>
      )}
      <span class="meta">
        {m.edited && !standIn(m) && 'edited · '}
        {timeOf(m.sentAt)}
        {mine && (
          <span class={`tick ${tick}`} role="img" aria-label={tick}>
            {' '}
            {TICKS[tick]}
          </span>
        )}
      </span>
      {mine && m.seq !== null && !standIn(m) && !editing && (
        <span class="actions">
          <button class="link" onClick={() => (setDraft(m.text ?? ''), setEditing(true))}>
            Edit
          </button>
          <button class="link" onClick={() => run(() => chat.recall(conversationId, m.seq!))}>
            Recall
          </button>
        </span>
      )}
      {error && <span role="alert">{error}</span>}
    </li>
  );
}

function Composer({ chat, conversationId }: { chat: Chat; conversationId: string }) {
  const [text, setText] = useState('');
  return (
    <form
      class="composer"
      onSubmit={(e) => {
        e.preventDefault();
        if (!text.trim()) return;
        chat.send(conversationId, text);
        setText('');
      }}
    >
      <label class="visually-hidden" for="message">
        Message
      </label>
      <input
        id="message"
        autocomplete="off"
        placeholder="Write a message"
        value={text}
        onInput={(e) => {
          setText(e.currentTarget.value);
          chat.draftChanged(conversationId, e.currentTarget.value);
        }}
      />
      <button type="submit">Send</button>
    </form>
  );
}

/**
 * Keeps the newest message in view while the reader is at the bottom, and keeps the reader's place
 * when an older page is added above.
 */
function useStickyScroll(list: { current: HTMLOListElement | null }, oldestSeq: number | null, count: number) {
  const state = useRef({ atBottom: true, oldestSeq, height: 0 });
  useLayoutEffect(() => {
    const el = list.current;
    if (!el) return;
    const s = state.current;
    if (oldestSeq !== s.oldestSeq && s.height) el.scrollTop += el.scrollHeight - s.height;
    else if (s.atBottom) el.scrollTop = el.scrollHeight;
    s.oldestSeq = oldestSeq;
    s.height = el.scrollHeight;
  }, [oldestSeq, count]);
  return {
    onScroll() {
      const el = list.current!;
      state.current.atBottom = el.scrollHeight - el.scrollTop - el.clientHeight < 40;
    },
  };
}
