import assert from 'node:assert/strict';
import type { ChildProcess } from 'node:child_process';
import { randomUUID } from 'node:crypto';
import { mkdirSync } from 'node:fs';
import { after, before, describe, it } from 'node:test';
import { chromium, type Browser, type Page } from 'playwright-core';
import { ChatApi } from '../../src/client/index.js';
import { freePort, killHard, startProcess } from '../support/process.js';
import { tempDir } from '../support/tmp.js';
import { eventually, GIVE_UP_AFTER_MS } from '../support/waits.js';

/**
 * The web client in Debian's Chromium, as two people use it side by side. Every step leaves a
 * screenshot in test/browser/screenshots/ (git-ignored) to look at.
 */
const SCREENSHOTS = new URL('./screenshots/', import.meta.url);
const PASSWORD = 'correct horse battery';
/** The history test writes a few pages of messages at once. */
const env = { SEND_RATE_PER_USER: '1000' };

let step = 0;
async function shot(page: Page, name: string): Promise<void> {
  step += 1;
  await page.screenshot({ path: new URL(`${String(step).padStart(2, '0')}-${name}.png`, SCREENSHOTS).pathname });
}

const messages = (page: Page) => page.getByRole('list', { name: 'Messages' });
const conversations = (page: Page) => page.getByRole('list', { name: 'Conversations' });
const messageTexts = (page: Page) => messages(page).locator('.text').allInnerTexts();

async function signUp(page: Page, username: string): Promise<void> {
  await page.getByRole('textbox', { name: 'Username' }).fill(username);
  await page.getByLabel('Password').fill(PASSWORD);
  await page.getByRole('button', { name: 'Sign up' }).click();
  await conversations(page).waitFor();
}

async function send(page: Page, text: string): Promise<void> {
  await page.getByRole('textbox', { name: 'Message' }).fill(text);
  await page.getByRole('button', { name: 'Send', exact: true }).click();
}

/** Waits until the messages on screen are exactly `texts`, and shows them if they never are. */
async function showsExactly(page: Page, texts: string[]): Promise<void> {
  await eventually(`the messages ${JSON.stringify(texts)}`, () => messageTexts(page), (shown) => JSON.stringify(shown) === JSON.stringify(texts));
}

describe('web client', () => {
  const data = tempDir();
  let server: ChildProcess | null = null;
  let browser: Browser;
  let port: number;

  before(async () => {
    mkdirSync(SCREENSHOTS, { recursive: true });
    port = await freePort();
    server = await startProcess(data.dir, port, env);
    browser = await chromium.launch({ executablePath: '/usr/bin/chromium', args: ['--no-sandbox'] });
  });
  after(async () => {
    await browser?.close();
    server?.kill('SIGKILL');
    data.remove();
  });

  /** Two people over the SDK with a direct conversation, both logged in; the reader is the one the browser shows. */
  async function directOverApi(writerName: string, readerName: string) {
    const baseUrl = `http://127.0.0.1:${port}`;
    const suffix = randomUUID().slice(0, 6);
    const [writer, reader] = [new ChatApi({ baseUrl }), new ChatApi({ baseUrl })];
    const names = { writer: `${writerName}_${suffix}`, reader: `${readerName}_${suffix}` };
    await writer.register({ username: names.writer, password: PASSWORD });
    await reader.register({ username: names.reader, password: PASSWORD });
    await writer.login({ username: names.writer, password: PASSWORD });
    const { userId } = await reader.login({ username: names.reader, password: PASSWORD });
    const { conversationId } = await writer.createConversation({ kind: 'direct', memberId: userId });
    return { writer, reader, conversationId, readerName: names.reader };
  }

  /** A page in its own browser context, logged in as `username` through the login form. */
  async function loggedInPage(username: string): Promise<Page> {
    const page = await (await browser.newContext({ viewport: { width: 1100, height: 700 } })).newPage();
    page.setDefaultTimeout(GIVE_UP_AFTER_MS);
    await page.goto(`http://127.0.0.1:${port}`);
    await page.getByRole('textbox', { name: 'Username' }).fill(username);
    await page.getByLabel('Password').fill(PASSWORD);
    await page.getByRole('button', { name: 'Log in', exact: true }).click();
    return page;
  }

  /** Runs a test's steps; if one fails, what each page showed then is saved too. */
  async function steps(pages: Page[], run: () => Promise<void>): Promise<void> {
    try {
      await run();
    } catch (error) {
      for (const [i, p] of pages.entries()) await shot(p, `failed-page-${i + 1}`).catch(() => undefined);
      throw error;
    }
  }

  it('carries a conversation between two people through a server crash', async () => {
    const suffix = randomUUID().slice(0, 6);
    const [alice, bob] = [`alice_${suffix}`, `bob_${suffix}`];
    const pages = await Promise.all([0, 1].map(async () => (await browser.newContext({ viewport: { width: 1100, height: 700 } })).newPage()));
    const [a, b] = pages as [Page, Page];
    for (const page of pages) {
      page.setDefaultTimeout(GIVE_UP_AFTER_MS);
      await page.goto(`http://127.0.0.1:${port}/`);
    }
    await steps(pages, async () => {
      await shot(a, 'login-screen');

      await signUp(a, alice);
      await signUp(b, bob);
      await shot(b, 'bob-signed-up');

      await a.getByRole('textbox', { name: 'Find user' }).fill(bob);
      await a.getByRole('button', { name: 'Start chat' }).click();
      await a.getByRole('heading', { name: bob }).waitFor();
      await send(a, 'Hi Bob!');
      await messages(a).getByRole('img', { name: 'sent' }).or(messages(a).getByRole('img', { name: 'delivered' })).waitFor();
      await shot(a, 'alice-sent-first-message');

      const bobsItem = conversations(b).getByRole('listitem').filter({ hasText: alice });
      await bobsItem.getByText('1 unread').waitFor();
      await shot(b, 'bob-sees-unread-badge');

      await bobsItem.getByRole('button').click();
      await showsExactly(b, ['Hi Bob!']);
      await bobsItem.getByText('1 unread').waitFor({ state: 'detached' });
      await messages(a).getByRole('img', { name: 'read' }).waitFor();
      await a.getByText('online').waitFor();
      await shot(b, 'bob-opened-badge-cleared');
      await shot(a, 'alice-sees-read-tick-and-online');

      await b.getByRole('textbox', { name: 'Message' }).pressSequentially('Hello');
      await a.getByText(`${bob} is typing`).waitFor();
      await shot(a, 'alice-sees-bob-typing');
      await b.getByRole('textbox', { name: 'Message' }).fill('Hello Alice, how are you?');
      await b.getByRole('button', { name: 'Send', exact: true }).click();
      await showsExactly(a, ['Hi Bob!', 'Hello Alice, how are you?']);
      await a.getByText(`${bob} is typing`).waitFor({ state: 'detached' });

      // kill -9 mid-conversation: a message typed while the server is away goes out when it is back.
      await killHard(server!);
      await a.getByRole('status').getByText('Reconnecting…').waitFor();
      await send(a, 'Sent while the server was down');
      await messages(a).getByRole('img', { name: 'sending' }).waitFor();
      await shot(a, 'alice-offline-message-waiting');
      server = await startProcess(data.dir, port, env);
      await messages(a).getByRole('img', { name: 'sending' }).waitFor({ state: 'detached' });
      await send(b, 'Back again');

      const conversation = ['Hi Bob!', 'Hello Alice, how are you?', 'Sent while the server was down', 'Back again'];
      await showsExactly(a, conversation);
      await showsExactly(b, conversation);
      await a.getByRole('status').waitFor({ state: 'detached' });
      await shot(a, 'alice-after-restart');
      await shot(b, 'bob-after-restart');

      // Edit and recall reach the other side.
      const own = messages(a).getByRole('listitem').filter({ hasText: 'Sent while the server was down' });
      await own.getByRole('button', { name: 'Edit' }).click();
      await a.getByRole('textbox', { name: 'Edit message' }).fill('Sent while the server was down (edited)');
      await a.getByRole('button', { name: 'Save' }).click();
      await messages(a).getByRole('listitem').filter({ hasText: 'Hi Bob!' }).getByRole('button', { name: 'Recall' }).click();
      await showsExactly(b, ['This message was recalled', 'Hello Alice, how are you?', 'Sent while the server was down (edited)', 'Back again']);
      await shot(b, 'bob-sees-edit-and-recall');

      // Pin and mute, then log out.
      await b.getByRole('button', { name: 'Pin' }).click();
      await b.getByRole('button', { name: 'Mute' }).click();
      await bobsItem.getByText('Muted', { exact: true }).waitFor();
      await bobsItem.getByText('Pinned', { exact: true }).waitFor();
      await shot(b, 'bob-pinned-and-muted');
      await a.getByRole('button', { name: 'Log out' }).click();
      await a.getByRole('button', { name: 'Log in', exact: true }).waitFor();
      await shot(a, 'alice-logged-out');
    });
  });

  it('shows what an erased account leaves: "Message deleted" from a "Deleted account"', async () => {
    const { writer: leaver, reader: stayer, conversationId, readerName } = await directOverApi('erin', 'frank');
    await leaver.send(conversationId, randomUUID(), 'erin was here');
    await stayer.send(conversationId, randomUUID(), 'frank stays');
    await leaver.eraseAccount(PASSWORD);

    const f = await loggedInPage(readerName);
    await steps([f], async () => {
      await conversations(f).getByRole('button', { name: /Deleted account/ }).click();
      await f.getByRole('heading', { name: 'Deleted account' }).waitFor();
      await showsExactly(f, ['Message deleted', 'frank stays']);
      assert.equal((await f.content()).includes('erin'), false, 'nothing on the page names her');
      await shot(f, 'frank-sees-an-erased-account');
    });
  });

  it('scrolls history upwards page by page', async () => {
    const { writer, conversationId, readerName } = await directOverApi('carol', 'dave');
    const history = Array.from({ length: 75 }, (_, i) => `history ${i + 1}`);
    for (const text of history) await writer.send(conversationId, randomUUID(), text);

    const d = await loggedInPage(readerName);
    await conversations(d).getByRole('button', { name: /carol/ }).click();
    await messages(d).getByText('history 75').waitFor();
    assert.ok((await messageTexts(d)).length < history.length, 'the newest page first');
    await shot(d, 'dave-newest-page');

    const start = messages(d).getByText('This is the beginning of the conversation.');
    await eventually('the beginning, scrolling up', async () => {
      await messages(d).evaluate((list) => (list.scrollTop = 0));
      return start.isVisible();
    }, Boolean);
    await showsExactly(d, history);
    await shot(d, 'dave-scrolled-to-the-beginning');
  });
});

