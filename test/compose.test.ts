import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, it } from 'node:test';
import { promisify } from 'node:util';
import { parse } from 'yaml';
import { z } from 'zod';
import { loadConfig } from '../src/config.js';
import { projectionNames } from '../src/projections/projectors.js';
import { openStores } from '../src/stores.js';
import { copies, dockerfileStages, layOutImage, links } from './support/image.js';
import { tempDir } from './support/tmp.js';

/**
 * docker-compose.yml cannot be started here (no Docker engine), so this reads it, with the files it
 * points at, and checks what the app and the operators rely on.
 */
const root = new URL('../', import.meta.url);
const read = (path: string) => readFileSync(new URL(path, root), 'utf8');

const serviceSchema = z.object({
  image: z.string().optional(),
  build: z.string().optional(),
  entrypoint: z.array(z.string()).optional(),
  command: z.array(z.string()).optional(),
  environment: z.record(z.string(), z.string()).default({}),
  ports: z.array(z.string()).default([]),
  volumes: z.array(z.string()).default([]),
  depends_on: z.record(z.string(), z.object({ condition: z.string() })).default({}),
  healthcheck: z.object({ test: z.array(z.string()) }).optional(),
  networks: z.array(z.string()).default([]),
});
const compose = z.object({ services: z.record(z.string(), serviceSchema) }).parse(parse(read('docker-compose.yml')));
const services = compose.services;
const DCS = ['dc1', 'dc2'] as const;
/** The app instances of a datacenter, behind its load balancer `lb-<dc>`. */
const appsOf = (dc: string) => [`app-${dc}-1`, `app-${dc}-2`];

function service(name: string) {
  const s = services[name];
  assert.ok(s, `service ${name} is missing`);
  return s;
}

/** Java properties, as far as mm2.properties uses them: `key = value`, `#` comments, `\\` escapes. */
function readProperties(text: string): Map<string, string> {
  const properties = new Map<string, string>();
  for (const raw of text.split('\n')) {
    const line = raw.trim();
    if (line === '' || line.startsWith('#') || line.startsWith('!')) continue;
    const eq = line.indexOf('=');
    assert.ok(eq > 0, `not a property line: ${line}`);
    properties.set(line.slice(0, eq).trim(), line.slice(eq + 1).trim().replace(/\\(.)/g, '$1'));
  }
  return properties;
}

/** A published port in compose's short syntax: `[ip:]host:container[/protocol]`. */
function hostPort(spec: string): string {
  const parts = spec.split('/')[0]!.split(':');
  assert.ok(parts.length >= 2, `port ${spec} is not published on a fixed host port`);
  return parts.slice(0, -1).join(':');
}

const kafkaVersionOfTestLane = /<kafka\.version>([^<]+)<\/kafka\.version>/.exec(read('test/infra/pom.xml'))?.[1];

describe('docker-compose.yml (production profile)', () => {
  it('has EventStoreDB, MongoDB, Kafka, Redis, an object store and two app instances behind a load balancer in each of dc1 and dc2, and MirrorMaker 2 and the media sync between them', () => {
    for (const dc of DCS) for (const kind of ['eventstore', 'mongo', 'kafka', 'redis', 's3', 'lb']) service(`${kind}-${dc}`);
    for (const dc of DCS) appsOf(dc).forEach(service);
    service('mirror-maker');
    assert.deepEqual(service('media-sync').networks, [...DCS]);
  });

  for (const dc of DCS) {
    it(`configures ${dc}'s app instances alike, with ${dc}'s own stores, as a configuration the app accepts`, () => {
      const [first, second] = appsOf(dc).map(service);
      assert.deepEqual(second!.environment, first!.environment, 'instances of one DC differ in nothing');
      const env = first!.environment;
      assert.equal(env.DC_ID, dc);
      assert.equal(env.EVENT_STORE, 'esdb');
      assert.equal(env.READ_STORE, 'mongo');
      assert.equal(env.REPLICATION, 'kafka');

      const esdb = new URL(env.ESDB_URL ?? '');
      assert.equal(esdb.protocol, 'esdb:');
      assert.equal(esdb.hostname, `eventstore-${dc}`);
      const eventstore = service(`eventstore-${dc}`);
      if (eventstore.environment.EVENTSTORE_INSECURE === 'true') assert.equal(esdb.searchParams.get('tls'), 'false');

      const mongo = new URL(env.MONGO_URL ?? '');
      assert.equal(mongo.protocol, 'mongodb:');
      assert.equal(mongo.hostname, `mongo-${dc}`);
      assert.notEqual(mongo.pathname.replace('/', ''), '', 'MONGO_URL names a database');

      const advertised = service(`kafka-${dc}`).environment.KAFKA_ADVERTISED_LISTENERS ?? '';
      const brokers = (env.KAFKA_BROKERS ?? '').split(',');
      assert.ok(brokers.length > 0);
      for (const broker of brokers) {
        assert.ok(advertised.split(',').some((l) => l.endsWith(`//${broker}`)), `${broker} is a listener of kafka-${dc}`);
      }

      const redis = new URL(env.REDIS_URL ?? '');
      assert.equal(redis.protocol, 'redis:');
      assert.equal(redis.hostname, `redis-${dc}`);

      const config = loadConfig(env);
      assert.equal(new URL(config.MEDIA_S3_ENDPOINT ?? '').hostname, `s3-${dc}`);
      // Presigned URLs name the port clients reach the DC's object store on.
      assert.ok(service(`s3-${dc}`).ports.map(hostPort).includes(new URL(config.MEDIA_S3_PUBLIC_ENDPOINT ?? '').port));
      assert.equal(config.DC_ID, dc);
      // The load balancer forwards to every instance of the DC, on the port it listens on.
      const lb = service(`lb-${dc}`).environment;
      assert.deepEqual([lb.APP_1, lb.APP_2], appsOf(dc).map((app) => `${app}:${config.PORT}`));
      assert.deepEqual([config.EVENT_STORE, config.READ_STORE, config.REPLICATION, config.MEDIA_STORE], ['esdb', 'mongo', 'kafka', 's3']);
    });

    it(`starts ${dc}'s app instances only once ${dc}'s stores are healthy, and its load balancer once they are`, () => {
      for (const name of appsOf(dc)) {
        const app = service(name);
        for (const dependency of [`eventstore-${dc}`, `mongo-${dc}`, `kafka-${dc}`, `redis-${dc}`, `s3-${dc}`]) {
          assert.equal(app.depends_on[dependency]?.condition, 'service_healthy', `${name} waits for ${dependency}`);
          assert.deepEqual(service(dependency).networks, [dc], `${dependency} is on ${dc}'s network alone`);
        }
        assert.deepEqual(app.networks, [dc, 'link'], `${name} reaches the other DC through the link network`);
        assert.ok(app.healthcheck?.test.join(' ').includes('/healthz'), `${name} is checked through /healthz`);
        assert.equal(service(`lb-${dc}`).depends_on[name]?.condition, 'service_healthy');
      }
      assert.deepEqual(service(`lb-${dc}`).networks, [dc, 'link']);
    });

    it(`gives ${dc}'s apps the other datacenters through their load balancers, with the settings a linked DC needs`, () => {
      const config = loadConfig(service(appsOf(dc)[0]!).environment);
      const others = DCS.filter((d) => d !== dc);
      assert.deepEqual([...config.DC_PEERS.keys()], others);
      for (const other of others) {
        const peer = new URL(config.DC_PEERS.get(other)!);
        assert.equal(peer.hostname, `lb-${other}`);
        assert.equal(peer.port, new URL(`http://${service(`lb-${other}`).environment.APP_1}`).port, 'the load balancer listens where the apps do');
      }
      // Clients are sent to the host port each DC's load balancer is published on.
      for (const d of DCS) assert.equal(new URL(config.DC_PUBLIC_URLS.get(d)!).port, hostPort(service(`lb-${d}`).ports[0]!).split(':').at(-1));
    });
  }

  it('uses one AUTH_SECRET, DC_LINK_SECRET and MASTER_KEY on every app instance of every DC', () => {
    const apps = DCS.flatMap(appsOf).map((name) => service(name).environment);
    for (const key of ['AUTH_SECRET', 'DC_LINK_SECRET', 'MASTER_KEY']) assert.equal(new Set(apps.map((env) => env[key])).size, 1, key);
  });

  it('balances each DC over both its instances, WebSocket upgrades included', () => {
    for (const dc of DCS) {
      const lb = service(`lb-${dc}`);
      const mount = lb.volumes.find((v) => v.split(':')[1] === '/etc/nginx/templates/default.conf.template');
      assert.ok(mount, 'the configuration is mounted as the image’s template');
      const conf = read(mount.split(':')[0]!.replace(/^\.\//, ''));
      const upstream = /upstream app \{([\s\S]*?)\n\}/.exec(conf)?.[1] ?? '';
      assert.deepEqual([...upstream.matchAll(/server \$\{(\w+)\}/g)].map((m) => m[1]), ['APP_1', 'APP_2']);
      assert.match(conf, /proxy_pass http:\/\/app;/);
      assert.match(conf, /proxy_http_version 1\.1;/);
      assert.match(conf, /proxy_set_header Upgrade \$http_upgrade;/);
      assert.match(conf, /proxy_set_header Connection \$connection_upgrade;/);
      assert.ok(lb.healthcheck?.test.join(' ').includes('/healthz'));
    }
  });

  it('has a healthcheck on every service another one waits for', () => {
    for (const [name, s] of Object.entries(services)) {
      for (const [dependency, { condition }] of Object.entries(s.depends_on)) {
        assert.ok(service(dependency).healthcheck, `${name} depends on ${dependency}, which has no healthcheck`);
        assert.equal(condition, 'service_healthy');
      }
    }
  });

  it('pins every image, including the bases of the app image, to a version', () => {
    const pinned = (image: string) => /^[\w./-]+:\d[\w.-]*$/.test(image) && !image.endsWith(':latest');
    for (const [name, s] of Object.entries(services)) {
      assert.ok(s.image || s.build, `${name} has neither image nor build`);
      if (s.image) assert.ok(pinned(s.image), `${name} uses ${s.image}`);
    }
    const bases = [...read('Dockerfile').matchAll(/^FROM\s+(\S+)/gm)].map((m) => m[1]!);
    assert.ok(bases.length > 0);
    for (const base of bases) assert.ok(pinned(base), `Dockerfile uses ${base}`);
  });

  it('publishes each DC on a host port of its own through its load balancer, and dc1 EventStoreDB for the contract suite', () => {
    const published = Object.values(services).flatMap((s) => s.ports.map(hostPort));
    assert.equal(new Set(published).size, published.length, `host ports collide: ${published.join(', ')}`);
    const lbPorts = DCS.map((dc) => service(`lb-${dc}`).ports.map(hostPort));
    for (const ports of lbPorts) assert.equal(ports.length, 1);
    assert.notEqual(lbPorts[0]![0], lbPorts[1]![0]);
    for (const dc of DCS) for (const app of appsOf(dc)) assert.deepEqual(service(app).ports, [], `${app} is reached through lb-${dc} only`);
    assert.deepEqual(service('eventstore-dc1').ports.map(hostPort), ['127.0.0.1:2113']);
  });

  it('runs Kafka and MirrorMaker 2 on the 3.9 line, the version of the test lane', () => {
    assert.match(kafkaVersionOfTestLane ?? '', /^3\.9\.\d+$/);
    for (const name of ['kafka-dc1', 'kafka-dc2', 'mirror-maker']) {
      assert.equal(service(name).image, `apache/kafka:${kafkaVersionOfTestLane}`);
    }
  });

  it('mirrors each DC topic to the other DC under the same name, and never back', () => {
    const mm2 = service('mirror-maker');
    assert.deepEqual(mm2.entrypoint, ['/opt/kafka/bin/connect-mirror-maker.sh']);
    const mount = mm2.volumes.find((v) => v.split(':')[1] === mm2.command?.[0]);
    assert.ok(mount, 'the MirrorMaker configuration is mounted where it is read from');
    assert.deepEqual(mm2.networks, [...DCS]);
    for (const dc of DCS) assert.equal(mm2.depends_on[`kafka-${dc}`]?.condition, 'service_healthy');

    const properties = readProperties(read(mount.split(':')[0]!));
    assert.equal(properties.get('replication.policy.class'), 'org.apache.kafka.connect.mirror.IdentityReplicationPolicy');
    assert.deepEqual(properties.get('clusters')?.split(',').map((c) => c.trim()), [...DCS]);
    const consumed = /^im\.[a-z0-9-]+\.events$/;
    for (const [from, to] of [['dc1', 'dc2'], ['dc2', 'dc1']] as const) {
      assert.equal(properties.get(`${from}.bootstrap.servers`), service(`app-${from}-1`).environment.KAFKA_BROKERS);
      assert.equal(properties.get(`${from}->${to}.enabled`), 'true');
      const topics = (properties.get(`${from}->${to}.topics`) ?? '').split(',').map((t) => new RegExp(`^(?:${t.trim()})$`));
      const mirrored = (topic: string) => topics.some((t) => t.test(topic));
      assert.ok(mirrored(`im.${from}.events`), `${from}->${to} mirrors im.${from}.events`);
      assert.ok(consumed.test(`im.${from}.events`));
      assert.ok(!mirrored(`im.${to}.events`), `${from}->${to} would send ${to}'s own topic back`);
      assert.ok(!mirrored(`im-${from}-events`), `${from}->${to} topic pattern is not anchored on dots`);
    }
  });
});

describe('Dockerfile (the app image)', () => {
  const stages = dockerfileStages(read('Dockerfile'));
  const image = stages.at(-1)!;

  it('has the operator CLI on PATH, running the compiled dist/ (the image ships no sources)', () => {
    const targets = copies(image).map((c) => c.target);
    assert.ok(targets.includes('/app/bin'), `bin/ is copied to /app/bin: ${targets.join(', ')}`);
    assert.ok(targets.includes('/app/dist'));
    assert.ok(!targets.some((t) => t.startsWith('/app/src')), 'no sources: bin/im.js would run them instead of dist/');
    // The node images install node itself in /usr/local/bin; CMD ["node", ...] finds it on PATH, and so does im.
    assert.equal(links(image).get('/usr/local/bin/im'), '/app/bin/im.js');
  });

  it('runs `im status` as `docker compose exec app-dc1-1 im status` would: through PATH, on the production dependencies', async () => {
    const root = tempDir('chat-image-');
    const data = tempDir();
    try {
      layOutImage(stages, root.dir);
      const stores = await openStores(loadConfig({ DATA_DIR: data.dir }));
      await stores.store.close();
      await stores.readStore.close();
      stores.close();

      const { stdout } = await promisify(execFile)('im', ['status', '--json'], {
        cwd: join(root.dir, 'app'),
        env: { PATH: `${join(root.dir, 'usr/local/bin')}:${process.env.PATH}`, DATA_DIR: data.dir },
      });
      const status = JSON.parse(stdout);
      assert.equal(status.head, 0);
      assert.deepEqual(
        status.checkpoints.map((c: { name: string }) => c.name),
        projectionNames,
      );
    } finally {
      root.remove();
      data.remove();
    }
  });
});
