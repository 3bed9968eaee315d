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
  it('reads the other datacenters as id=url pairs and refuses a multi-DC setup missing what it needs', () => {
    const multi = {
      DC_ID: 'dc1',
      DC_PEERS: 'dc2=http://dc2-app:8080/, dc3=https://dc3.example.com',
      DC_LINK_SECRET: 'l'.repeat(32),
      AUTH_SECRET: 'a'.repeat(32),
      MASTER_KEY: Buffer.alloc(32, 1).toString('base64'),
      REPLICATION: 'kafka',
      KAFKA_BROKERS: 'kafka:9092',
    };
    const config = loadConfig(multi);
    assert.deepEqual([...config.DC_PEERS], [['dc2', 'http://dc2-app:8080'], ['dc3', 'https://dc3.example.com']]);
    assert.equal(loadConfig({}).DC_PEERS.size, 0);
    assert.throws(() => loadConfig({ ...multi, DC_PEERS: 'dc2' }), /DC_PEERS takes id=http\(s\):\/\/host:port pairs/);
    assert.throws(() => loadConfig({ ...multi, DC_PEERS: 'dc2=ftp://x' }), /DC_PEERS/);
    assert.throws(() => loadConfig({ ...multi, DC_LINK_SECRET: undefined }), /DC_LINK_SECRET is required with DC_PEERS/);
    assert.throws(() => loadConfig({ ...multi, AUTH_SECRET: undefined }), /AUTH_SECRET is required with DC_PEERS/);
    assert.throws(() => loadConfig({ ...multi, REPLICATION: 'off' }), /REPLICATION=kafka is required with DC_PEERS/);
    assert.throws(() => loadConfig({ ...multi, MASTER_KEY: undefined }), /MASTER_KEY is required with DC_PEERS/);
    assert.throws(() => loadConfig({ ...multi, MASTER_KEY: 'c2hvcnQ=' }), (e: Error) => /MASTER_KEY.*32 bytes/.test(e.message) && !e.message.includes('c2hvcnQ='));
    assert.throws(() => loadConfig({ ...multi, DC_PEERS: 'dc1=http://self:8080' }), /lists this datacenter \(dc1\) itself/);
    assert.throws(() => loadConfig({ ...multi, DC_LINK_SECRET: 'short' }), (e: Error) => /DC_LINK_SECRET/.test(e.message) && !e.message.includes('short'));
  });
  it('drops a silent socket within 30 s by default, pinging at most every half timeout', () => {
    const config = loadConfig({});
    assert.equal(config.PRESENCE_TIMEOUT_MS, 30_000);
    assert.ok(config.HEARTBEAT_INTERVAL_MS * 2 <= config.PRESENCE_TIMEOUT_MS);
    assert.throws(() => loadConfig({ HEARTBEAT_INTERVAL_MS: '20000' }), /HEARTBEAT_INTERVAL_MS must be at most half of PRESENCE_TIMEOUT_MS/);
    assert.throws(() => loadConfig({ TYPING_TTL_MS: '2000', TYPING_THROTTLE_MS: '2000' }), /TYPING_THROTTLE_MS must be less than TYPING_TTL_MS/);
  });
  it('has push off without FCM credentials and parses a service account key', () => {
    const config = loadConfig({});
    assert.equal(config.FCM_SERVICE_ACCOUNT, undefined);
    assert.equal(config.PUSH_PREVIEW, 'show');
    const key = { type: 'service_account', project_id: 'p1', client_email: 'push@p1.iam.gserviceaccount.com', private_key: 'KEY' };
    assert.equal(loadConfig({ FCM_SERVICE_ACCOUNT: JSON.stringify(key) }).FCM_SERVICE_ACCOUNT?.project_id, 'p1');
    assert.throws(() => loadConfig({ PUSH_PREVIEW: 'maybe' }), /PUSH_PREVIEW/);
  });
  it('never echoes a secret in its error line', () => {
    const secret = '{"project_id":"p1","private_key":"-----BEGIN PRIVATE KEY-----"}';
    assert.throws(
      () => loadConfig({ FCM_SERVICE_ACCOUNT: secret }),
      (e: Error) => /^invalid configuration: FCM_SERVICE_ACCOUNT=\(value not shown\): client_email: /.test(e.message) && !e.message.includes('PRIVATE'),
    );
    assert.throws(() => loadConfig({ FCM_SERVICE_ACCOUNT: 'not json' }), /FCM_SERVICE_ACCOUNT=\(value not shown\): not JSON/);
    assert.throws(() => loadConfig({ AUTH_SECRET: 'short-secret' }), (e: Error) => !e.message.includes('short-secret'));
  });
  it('shares state through Redis only with a redis:// URL, whose value never reaches the error line', () => {
    assert.equal(loadConfig({}).REDIS_URL, undefined);
    assert.equal(loadConfig({ REDIS_URL: 'redis://cache:6379/0' }).REDIS_URL, 'redis://cache:6379/0');
    assert.throws(() => loadConfig({ REDIS_URL: 'http://:hunter2@cache:6379' }), (e: Error) => /^invalid configuration: REDIS_URL=\(value not shown\)/.test(e.message) && !e.message.includes('hunter2'));
    assert.throws(() => loadConfig({ REDIS_KEY_PREFIX: 'no spaces' }), /REDIS_KEY_PREFIX/);
  });
  it('requires the URL of a selected production adapter', () => {
    assert.throws(() => loadConfig({ READ_STORE: 'mongo' }), /MONGO_URL is required with READ_STORE=mongo/);
  });
});
