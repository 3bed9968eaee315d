import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { ConfigError, loadConfig } from './config.js';

describe('configuration', () => {
  it('defaults to the embedded profile on port 8080', () => {
    const config = loadConfig({});
    assert.equal(config.PORT, 8080);
    assert.equal(config.EVENT_STORE, 'sqlite');
    assert.equal(config.READ_STORE, 'sqlite');
    assert.equal(config.DATA_DIR, './data');
    assert.equal(config.DC_ID, 'dc1');
  });
  it('names the variable of a bad value in one line', () => {
    assert.throws(() => loadConfig({ PORT: 'eighty' }), (e: Error) => e instanceof ConfigError && /^invalid configuration: PORT="eighty"/.test(e.message) && !e.message.includes('\n'));
    assert.throws(() => loadConfig({ EVENT_STORE: 'postgres' }), /EVENT_STORE/);
  });
  it('requires the URL of a selected production adapter', () => {
    assert.throws(() => loadConfig({ READ_STORE: 'mongo' }), /MONGO_URL is required with READ_STORE=mongo/);
  });
});
