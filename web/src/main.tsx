import { render } from 'preact';
import { useEffect, useState } from 'preact/hooks';
import { Chat } from './chat.js';
import { Conversation } from './conversation.js';
import { useChat } from './hooks.js';
import { Login } from './login.js';
import { Sidebar } from './sidebar.js';
import './styles.css';

function App({ chat }: { chat: Chat }) {
  useChat(chat);
  const [resumed, setResumed] = useState(false);
  useEffect(() => {
    void chat.resume().finally(() => setResumed(true));
    const visible = () => document.visibilityState === 'visible' && chat.onVisible();
    document.addEventListener('visibilitychange', visible);
    return () => document.removeEventListener('visibilitychange', visible);
  }, [chat]);

  if (!resumed) return null;
  if (!chat.me) return <Login chat={chat} />;
  const away = chat.status === 'offline' || chat.status === 'connecting';
  return (
    <div class="app">
      <Sidebar chat={chat} />
      <main class="main">
        {away && (
          <p class="status" role="status">
            Reconnecting…
          </p>
        )}
        {chat.openId ? (
          <Conversation key={chat.openId} chat={chat} conversationId={chat.openId} />
        ) : (
          <p class="empty">Find a user by username and start a chat, or pick a conversation.</p>
        )}
      </main>
    </div>
  );
}

render(<App chat={new Chat()} />, document.getElementById('app')!);
