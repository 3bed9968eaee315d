import { useState } from 'preact/hooks';
import type { Chat } from './chat.js';
import { useAction } from './hooks.js';
import { ranked, standIn, timeOf, titleOf } from './model.js';

export function Sidebar({ chat }: { chat: Chat }) {
  const [run, , error] = useAction();
  const [username, setUsername] = useState('');
  return (
    <aside class="sidebar">
      <header class="me">
        <span>
          Signed in as <strong>{chat.me!.username}</strong>
        </span>
        <button class="secondary" onClick={() => run(() => chat.logOut())}>
          Log out
        </button>
      </header>
      <form
        class="find"
        onSubmit={(e) => {
          e.preventDefault();
          run(async () => {
            await chat.startChat(username.trim());
            setUsername('');
          });
        }}
      >
        <label>
          Find user
          <input value={username} placeholder="username" onInput={(e) => setUsername(e.currentTarget.value)} required />
        </label>
        <button type="submit">Start chat</button>
      </form>
      <NewGroup chat={chat} />
      {error && (
        <p role="alert" class="error">
          {error}
        </p>
      )}
      <ul class="conversations" aria-label="Conversations">
        {ranked(chat.conversations.values()).map((c) => (
          <li key={c.conversationId} class={c.conversationId === chat.openId ? 'open' : ''}>
            <button class="conversation" aria-current={c.conversationId === chat.openId} onClick={() => void chat.open(c.conversationId)}>
              <span class="title">
                {titleOf(c)}
                {c.pinned && <span class="flag">Pinned</span>}
                {c.muted && <span class="flag">Muted</span>}
              </span>
              <span class="when">{c.lastMessage ? timeOf(c.lastActivityAt) : ''}</span>
              <span class="preview">{c.lastMessage ? (standIn(c.lastMessage) ?? c.lastMessage.text) : 'No messages yet'}</span>
              {c.unreadCount > 0 && <span class={c.muted ? 'badge muted' : 'badge'}>{c.unreadCount} unread</span>}
            </button>
          </li>
        ))}
      </ul>
    </aside>
  );
}

function NewGroup({ chat }: { chat: Chat }) {
  const [run, busy, error] = useAction();
  const [title, setTitle] = useState('');
  const [members, setMembers] = useState('');
  return (
    <details class="new-group">
      <summary>New group</summary>
      <form
        onSubmit={(e) => {
          e.preventDefault();
          const usernames = members.split(',').map((m) => m.trim()).filter(Boolean);
          run(async () => {
            await chat.createGroup(title.trim(), usernames);
            setTitle('');
            setMembers('');
          });
        }}
      >
        <label>
          Group name
          <input value={title} onInput={(e) => setTitle(e.currentTarget.value)} required />
        </label>
        <label>
          Members
          <input value={members} placeholder="usernames, comma separated" onInput={(e) => setMembers(e.currentTarget.value)} />
        </label>
        <button type="submit" disabled={busy}>
          Create group
        </button>
        {error && <p role="alert">{error}</p>}
      </form>
    </details>
  );
}
