import assert from 'node:assert/strict';
import { mkdirSync } from 'node:fs';
import { after, before, describe, it } from 'node:test';
import { chromium, type Browser } from 'playwright-core';
import { startTestServer, type TestServer } from '../support/server.js';

const SCREENSHOTS = new URL('./screenshots/', import.meta.url);

/** The interactive API docs in Debian's Chromium, under the app's Content-Security-Policy. */
describe('API docs at /docs', () => {
  let server: TestServer;
  let browser: Browser;
  before(async () => {
    mkdirSync(SCREENSHOTS, { recursive: true });
    server = await startTestServer();
    browser = await chromium.launch({ executablePath: '/usr/bin/chromium', args: ['--no-sandbox'] });
  });
  after(async () => {
    await browser?.close();
    await server?.stop();
  });

  it('lists every operation and shows its answers, with nothing blocked or failing in the page', async () => {
    const document = await (await fetch(`${server.url}/v1/openapi.json`)).json();
    const operations = Object.values(document.paths as Record<string, object>).reduce((n, methods) => n + Object.keys(methods).length, 0);
    const page = await browser.newPage();
    const problems: string[] = [];
    // A resource the CSP refused, or a script that failed, shows up here.
    page.on('console', (message) => message.type() === 'error' && problems.push(message.text()));
    page.on('pageerror', (error) => problems.push(error.message));

    await page.goto(`${server.url}/docs`);
    await page.locator('.opblock').first().waitFor();
    assert.equal(await page.locator('.opblock').count(), operations);
    await page.locator('.opblock-summary-path', { hasText: /^\/v1\/conversations\/\{id\}\/messages$/ }).first().click();
    await page.getByText('Sent before with this clientMsgId').first().waitFor();
    await page.screenshot({ path: new URL('docs-send-message.png', SCREENSHOTS).pathname });
    assert.deepEqual(problems, []);
  });
});
