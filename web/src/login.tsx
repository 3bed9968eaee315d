import { useState } from 'preact/hooks';
import type { Chat } from './chat.js';
import { useAction } from './hooks.js';

/** Sign up and log in share the form: "Sign up" registers the name, then logs in with it. */
export function Login({ chat }: { chat: Chat }) {
  const [username, setUsername] = useState('');
  const [password, setPassword] = useState('');
  const [run, busy, error] = useAction();

  return (
    <main class="login">
      <form
        class="card"
        onSubmit={(e) => {
          e.preventDefault();
          run(() => chat.logIn(username, password));
        }}
      >
        <h1>Chat</h1>
        <p class="hint">Sign up with a new username, or log in.</p>
        <label>
          Username
          <input name="username" autocomplete="username" value={username} onInput={(e) => setUsername(e.currentTarget.value)} required />
        </label>
        <label>
          Password
          <input
            name="password"
            type="password"
            autocomplete="current-password"
            value={password}
            onInput={(e) => setPassword(e.currentTarget.value)}
            required
          />
        </label>
        {error && <p role="alert">{error}</p>}
        <div class="row">
          <button type="submit" disabled={busy}>
            Log in
          </button>
          <button type="button" class="secondary" disabled={busy} onClick={() => run(() => chat.signUp(username, password))}>
            Sign up
          </button>
        </div>
      </form>
    </main>
  );
}
