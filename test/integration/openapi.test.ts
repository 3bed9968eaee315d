import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { startTestServer, type TestServer } from '../support/server.js';

interface Response {
  description: string;
  content?: Record<string, { schema?: object }>;
}
interface Operation {
  security?: unknown[];
  responses: Record<string, Response>;
}

/** Statuses whose answer has no body. */
const BODILESS = new Set(['204', '302', '304', '416']);
const ERROR_SCHEMA = { $ref: '#/components/schemas/Error' };

describe('OpenAPI document', () => {
  let server: TestServer;
  let operations: [string, Operation][];
  before(async () => {
    server = await startTestServer();
    const document = await (await fetch(`${server.url}/v1/openapi.json`)).json();
    operations = Object.entries(document.paths as Record<string, Record<string, Operation>>).flatMap(([path, methods]) =>
      Object.entries(methods).map(([method, operation]): [string, Operation] => [`${method.toUpperCase()} ${path}`, operation]),
    );
  });
  after(() => server.stop());

  it('describes the body of every successful answer of every operation', () => {
    assert.ok(operations.length > 20, `every route is in the document: ${operations.length} operations`);
    for (const [name, operation] of operations) {
      const successes = Object.entries(operation.responses).filter(([status]) => Number(status) < 400 || status === '416');
      assert.ok(successes.length > 0, `${name} declares a successful answer`);
      for (const [status, response] of successes) {
        const schemas = Object.values(response.content ?? {}).map((media) => media.schema);
        if (BODILESS.has(status)) assert.deepEqual(schemas, [], `${name} ${status} has no body`);
        else assert.ok(schemas.length > 0 && schemas.every(Boolean), `${name} ${status} has a body schema`);
      }
    }
  });

  it('describes the refusals of every operation as errors with a code and a message', () => {
    for (const [name, operation] of operations) {
      const refusals = Object.entries(operation.responses).filter(([status]) => Number(status) >= 400 && status !== '416');
      assert.ok(refusals.some(([status]) => status === '503'), `${name} can be unavailable`);
      if (!operation.security) assert.ok(operation.responses['401'], `${name} needs a token, so it can answer 401`);
      for (const [status, response] of refusals) {
        assert.deepEqual(response.content, { 'application/json': { schema: ERROR_SCHEMA } }, `${name} ${status}`);
      }
    }
  });

  it('serves interactive docs of the document at /docs', async () => {
    const moved = await fetch(`${server.url}/docs`, { redirect: 'manual' });
    assert.equal(moved.status, 301);
    assert.equal(moved.headers.get('location'), '/docs/');
    const page = await fetch(`${server.url}/docs/`);
    assert.match(await page.text(), /swagger-ui-bundle\.js/);
    const initializer = await (await fetch(`${server.url}/docs/swagger-initializer.js`)).text();
    assert.match(initializer, /url: "\/v1\/openapi\.json"/);
    const bundle = await fetch(`${server.url}/docs/swagger-ui-bundle.js`);
    assert.equal(bundle.status, 200);
    assert.match(bundle.headers.get('content-type') ?? '', /javascript/);
    await bundle.arrayBuffer();
  });
});
