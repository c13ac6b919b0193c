// A cache workload through cachely-proxy with a real Node.js client:
//   node workload.js ioredis|node-redis|node-redis-5 <port>
// set/get, mget, expire/ttl, incr, a 2,000-pair pipeline of SET+GET (each
// GET must read its own SET), and a full SCAN of 3,000 keys (each key once).
// Prints one line per step; exits 0 when every step passed.
'use strict';

const [which, portArg] = process.argv.slice(2);
const port = Number(portArg);

function check(cond, what) {
  if (!cond) {
    throw new Error(what);
  }
}

// The same operations over both clients' APIs.
async function ioredisOps() {
  const Redis = require('ioredis');
  const r = new Redis({ port, host: '127.0.0.1', lazyConnect: true, maxRetriesPerRequest: 0 });
  await r.connect();
  return {
    set: (k, v) => r.set(k, v),
    get: (k) => r.get(k),
    mset: (obj) => r.mset(obj),
    mget: (keys) => r.mget(keys),
    expire: (k, s) => r.expire(k, s),
    ttl: (k) => r.ttl(k),
    incr: (k) => r.incr(k),
    del: (keys) => r.del(keys),
    pipeline: async (pairs) => {
      const p = r.pipeline();
      for (const [k, v] of pairs) {
        p.set(k, v);
        p.get(k);
      }
      const res = await p.exec();
      return res.map(([err, val]) => {
        if (err) throw err;
        return val;
      });
    },
    scanAll: () => new Promise((resolve, reject) => {
      const keys = [];
      const s = r.scanStream({ match: 'scan:*', count: 100 });
      s.on('data', (batch) => keys.push(...batch));
      s.on('end', () => resolve(keys));
      s.on('error', reject);
    }),
    quit: () => r.quit(),
  };
}

// node-redis 4 ('redis') and 5 (installed as 'redis5'): the same API, but
// 5's scanIterator yields batches of keys where 4 yields keys.
async function nodeRedisOps(pkg) {
  const { createClient } = require(pkg);
  const r = createClient({ socket: { port, host: '127.0.0.1', reconnectStrategy: false } });
  r.on('error', () => {});
  await r.connect();
  return {
    set: (k, v) => r.set(k, v),
    get: (k) => r.get(k),
    mset: (obj) => r.mSet(obj),
    mget: (keys) => r.mGet(keys),
    expire: (k, s) => r.expire(k, s),
    ttl: (k) => r.ttl(k),
    incr: (k) => r.incr(k),
    del: (keys) => r.del(keys),
    pipeline: async (pairs) => {
      // execAsPipeline: one round trip, no MULTI.
      const p = r.multi();
      for (const [k, v] of pairs) {
        p.set(k, v);
        p.get(k);
      }
      return p.execAsPipeline();
    },
    scanAll: async () => {
      const keys = [];
      for await (const k of r.scanIterator({ MATCH: 'scan:*', COUNT: 100 })) {
        if (Array.isArray(k)) {
          keys.push(...k);
        } else {
          keys.push(k);
        }
      }
      return keys;
    },
    quit: () => r.quit(),
  };
}

async function main() {
  const c = which === 'ioredis' ? await ioredisOps()
    : await nodeRedisOps(which === 'node-redis-5' ? 'redis5' : 'redis');
  const pre = which + ':';

  check((await c.set(pre + 'k', 'v1')) === 'OK', 'SET');
  check((await c.get(pre + 'k')) === 'v1', 'GET');
  console.log('ok set/get');

  const obj = {};
  for (let i = 0; i < 50; i++) obj[pre + 'm' + i] = 'mv' + i;
  await c.mset(obj);
  const got = await c.mget(Object.keys(obj).concat([pre + 'missing']));
  check(got.length === 51 && got[50] === null, 'MGET shape');
  for (let i = 0; i < 50; i++) check(got[i] === 'mv' + i, 'MGET value ' + i);
  console.log('ok mset/mget');

  check((await c.expire(pre + 'k', 100)) == 1, 'EXPIRE');
  const ttl = await c.ttl(pre + 'k');
  check(ttl > 90 && ttl <= 100, 'TTL ' + ttl);
  console.log('ok expire/ttl');

  for (let i = 1; i <= 100; i++) check((await c.incr(pre + 'n')) === i, 'INCR ' + i);
  console.log('ok incr');

  const pairs = [];
  for (let i = 0; i < 2000; i++) pairs.push([pre + 'p' + i, 'pv' + i]);
  const res = await c.pipeline(pairs);
  check(res.length === 4000, 'pipeline length ' + res.length);
  let misses = 0;
  for (let i = 0; i < 2000; i++) {
    if (res[2 * i] !== 'OK' || res[2 * i + 1] !== 'pv' + i) misses++;
  }
  check(misses === 0, misses + ' of 2000 pipelined GETs missed their SET');
  console.log('ok pipeline of 2,000 SET/GET pairs');

  const scanKeys = {};
  for (let i = 0; i < 3000; i++) scanKeys['scan:' + which + ':' + i] = 'x';
  const names = Object.keys(scanKeys);
  for (let i = 0; i < names.length; i += 500) {
    const part = {};
    for (const k of names.slice(i, i + 500)) part[k] = 'x';
    await c.mset(part);
  }
  const seen = (await c.scanAll()).filter((k) => k.startsWith('scan:' + which + ':'));
  const distinct = new Set(seen);
  check(seen.length === 3000 && distinct.size === 3000,
        'SCAN returned ' + seen.length + ' keys, ' + distinct.size + ' distinct of 3000');
  console.log('ok scan of 3,000 keys');

  await c.quit();
}

main().then(() => {
  console.log('PASS ' + which);
  process.exit(0);
}, (e) => {
  console.log('FAIL ' + which + ': ' + (e && e.stack ? e.stack : e));
  process.exit(1);
});
