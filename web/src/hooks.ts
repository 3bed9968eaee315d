import { ApiError } from 'chat-backend/client';
import { useEffect, useState } from 'preact/hooks';
import type { Chat } from './chat.js';

/** Re-renders the component whenever the chat state changes. */
export function useChat(chat: Chat): void {
  const [, setVersion] = useState(0);
  useEffect(() => chat.subscribe(() => setVersion((v) => v + 1)), [chat]);
}

/** Runs a user action, with a busy flag and the error to show if it fails. */
export function useAction(): [(action: () => Promise<unknown>) => void, boolean, string | null] {
  const [busy, setBusy] = useState(false);
  const [error, setError] = useState<string | null>(null);
  const run = (action: () => Promise<unknown>) => {
    setBusy(true);
    setError(null);
    action()
      .catch((e: unknown) => setError(describe(e)))
      .finally(() => setBusy(false));
  };
  return [run, busy, error];
}

function describe(error: unknown): string {
  if (error instanceof ApiError) {
    if (error.code === 'not_found') return 'No such user.';
    if (error.code === 'unauthenticated') return 'Wrong username or password.';
    if (error.code === 'conflict') return 'That username is taken.';
    return error.message;
  }
  return error instanceof Error ? error.message : String(error);
}
