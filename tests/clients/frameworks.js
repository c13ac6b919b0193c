// Real Node.js frameworks against one server (argv: port, which):
//   ratelimit  rate-limiter-flexible's RateLimiterRedis (Lua / MULTI inside)
//   beequeue   bee-queue: producer + worker, job results and events (Lua,
//              BRPOPLPUSH, pub/sub)
//   sessions   express-session with connect-redis on node-redis 4: five
//              users log in and come back over HTTP; TTLs, all(), length(),
//              destroy on logout, clear()
//   socketio   three socket.io servers joined by @socket.io/redis-adapter
//              (ioredis pub/sub): broadcasts, rooms, fetchSockets,
//              serverSideEmitWithAck and serverCount (PUBSUB NUMSUB)
//   redlock    redlock 4 on three ioredis clients contending for one lock
//              (Lua acquire/extend/release); a held lock refuses
//   bull       bull 4: 40 jobs, a delayed one and a failing one with a
//              retry, four at a time; global events and job states
//   cachemanager
//              cache-manager 7 on keyv's @keyv/redis (node-redis 5): set,
//              mset/mget, ttl, wrap (computed once), expiry, del, clear
//   resque     node-resque: a queue, a scheduler (a job delayed 300 ms)
//              and a worker; 30 jobs and a failing one
// Prints one JSON line with what happened; exits non-zero on failure.
'use strict';
const path = require('path');
const Redis = require(path.join(__dirname, 'node_modules', 'ioredis'));
const port = Number(process.argv[2]);
const which = process.argv[3];
const mod = (name) => require(path.join(__dirname, 'node_modules', name));
const sleep = (ms) => new Promise((res) => setTimeout(res, ms));

function fail(msg) {
    console.log(JSON.stringify({ ok: false, error: String(msg && msg.stack || msg) }));
    process.exit(1);
}
setTimeout(() => fail('timed out'), 30000).unref();

async function ratelimit() {
    const { RateLimiterRedis } = require(path.join(__dirname, 'node_modules', 'rate-limiter-flexible'));
    const client = new Redis({ port, host: '127.0.0.1', enableOfflineQueue: false });
    await new Promise((res) => client.once('ready', res));
    const limiter = new RateLimiterRedis({ storeClient: client, keyPrefix: 'rl', points: 10, duration: 60 });
    let allowed = 0, refused = 0;
    for (let i = 0; i < 15; i++) {
        try {
            await limiter.consume('user-1');
            allowed++;
        } catch (e) {
            if (e instanceof Error) throw e;
            refused++;
        }
    }
    const res = await limiter.get('user-1');
    client.disconnect();
    return { allowed, refused, consumed: res ? res.consumedPoints : null };
}

async function beequeue() {
    const Queue = require(path.join(__dirname, 'node_modules', 'bee-queue'));
    const redis = { host: '127.0.0.1', port };
    const producer = new Queue('fw', { redis, isWorker: false, getEvents: true });
    const worker = new Queue('fw', { redis, isWorker: true, getEvents: false });
    // Reads every job's state from the server (storeJobs off: no local copy).
    const reader = new Queue('fw', { redis, isWorker: false, getEvents: false, storeJobs: false });
    worker.process(4, async (job) => job.data.x * 2);
    await producer.ready();
    await worker.ready();
    await reader.ready();
    const n = 40;
    // The queue-level events: a job's own 'succeeded' event is lost when
    // the job finishes before its save() has resolved (bee-queue issues 78
    // and 189, with redis-server too), so results are counted per job id.
    const results = new Map();
    let allDone;
    const done = new Promise((res) => { allDone = res; });
    producer.on('job succeeded', (id, result) => {
        results.set(id, result);
        if (results.size === n) allDone();
    });
    const saved = [];
    for (let i = 0; i < n; i++) {
        saved.push(await producer.createJob({ x: i }).save());
    }
    // Job events travel over pub/sub; give them a moment, then read every
    // job's status from the server whatever the events said.
    await Promise.race([done, new Promise((res) => setTimeout(res, 5000))]);
    let ok = 0;
    for (const j of saved) {
        const got = await reader.getJob(j.id);
        if (got && got.status === 'succeeded') ok++;
    }
    await worker.close(5000);
    await producer.close(5000);
    await reader.close(5000);
    let sum = 0;
    for (const j of saved) sum += results.has(j.id) ? results.get(j.id) : 0;
    return { jobs: ok, events: results.size, sum };
}

async function sessions() {
    const http = require('http');
    const session = mod('express-session');
    const { RedisStore } = mod('connect-redis');
    const { createClient } = mod('redis');
    const client = createClient({ socket: { host: '127.0.0.1', port } });
    await client.connect();
    const store = new RedisStore({ client, prefix: 'fwsess:', ttl: 30 });
    const mw = session({ store, secret: 'fw', resave: false, saveUninitialized: false, rolling: true,
                         cookie: { maxAge: 30000 } });
    const srv = http.createServer((req, res) => mw(req, res, () => {
        if (req.url === '/login') { req.session.user = 'ada'; req.session.n = 0; }
        else if (req.url === '/logout') { return req.session.destroy(() => res.end('bye')); }
        else if (req.session.user) req.session.n++;
        res.end(JSON.stringify({ user: req.session.user || null, n: req.session.n || 0 }));
    }));
    await new Promise((r) => srv.listen(0, '127.0.0.1', r));
    const base = 'http://127.0.0.1:' + srv.address().port;
    const get = async (p, cookie) => {
        const r = await fetch(base + p, { headers: cookie ? { cookie } : {} });
        return { body: await r.text(), cookie: (r.headers.get('set-cookie') || '').split(';')[0] };
    };
    const users = [];
    for (let u = 0; u < 5; u++) {
        const login = await get('/login');
        let last;
        for (let i = 0; i < 4; i++) last = JSON.parse((await get('/', login.cookie)).body);
        users.push({ cookie: login.cookie, n: last.n });
    }
    const keys = await client.keys('fwsess:*');
    const ttl = await client.ttl(keys[0]);
    const all = await new Promise((res, rej) => store.all((e, x) => e ? rej(e) : res(x)));
    const length = await new Promise((res, rej) => store.length((e, x) => e ? rej(e) : res(x)));
    await get('/logout', users[0].cookie);
    const after = JSON.parse((await get('/', users[0].cookie)).body);
    const anon = JSON.parse((await get('/')).body);
    const left = (await client.keys('fwsess:*')).length;
    await new Promise((res) => store.clear(res));
    srv.close();
    await client.quit();
    return { counts: users.map((u) => u.n), keys: keys.length, ttlOk: ttl > 20 && ttl <= 30,
             all: all.length, length, afterLogout: after.user, anon: anon.user, left };
}

async function socketio() {
    const http = require('http');
    const { Server } = mod('socket.io');
    const { createAdapter } = mod('@socket.io/redis-adapter');
    const ioc = mod('socket.io-client');
    const servers = [], conns = [];
    for (let k = 0; k < 3; k++) {
        const pub = new Redis({ port, host: '127.0.0.1' });
        const sub = pub.duplicate();
        conns.push(pub, sub);
        const hs = http.createServer();
        const io = new Server(hs, { adapter: createAdapter(pub, sub, { requestsTimeout: 3000 }) });
        io.on('connection', (s) => { s.join('room-' + (k % 2)); s.on('hello', (m, ack) => ack('hi ' + k)); });
        io.on('ping-all', (x, cb) => cb('pong ' + k));
        await new Promise((r) => hs.listen(0, '127.0.0.1', r));
        servers.push({ io, hs });
    }
    await sleep(300);
    const clients = [];
    const got = [];
    for (let k = 0; k < 6; k++) {
        const c = ioc.io('http://127.0.0.1:' + servers[k % 3].hs.address().port,
                         { transports: ['websocket'], forceNew: true });
        const rec = { all: 0, room0: 0 };
        c.on('all', () => rec.all++);
        c.on('room0', () => rec.room0++);
        got.push(rec);
        await new Promise((r, j) => { c.once('connect', r); c.once('connect_error', j); });
        clients.push(c);
    }
    await sleep(200);
    for (let i = 0; i < 10; i++) servers[0].io.emit('all', i);
    for (let i = 0; i < 5; i++) servers[1].io.to('room-0').emit('room0', i);
    await sleep(1000);
    const sockets = await servers[2].io.fetchSockets();
    const acks = await servers[0].io.serverSideEmitWithAck('ping-all', 1);
    const counts = await Promise.all(servers.map((s) => s.io.of('/').adapter.serverCount()));
    for (const c of clients) c.close();
    for (const s of servers) s.io.close();
    for (const c of conns) c.disconnect();
    return { all: got.map((g) => g.all), room0: got.map((g) => g.room0), sockets: sockets.length,
             acks: acks.sort(), serverCount: counts };
}

async function redlock() {
    const Redlock = mod('redlock');
    const clients = [0, 1, 2].map(() => new Redis({ port, host: '127.0.0.1' }));
    let held = 0, overlap = 0, acquired = 0;
    const work = async (c) => {
        const rl = new Redlock([c], { retryCount: 200, retryDelay: 5, retryJitter: 5, driftFactor: 0.01 });
        for (let i = 0; i < 15; i++) {
            const lock = await rl.lock('fw:redlock', 2000);
            held++; acquired++; if (held > 1) overlap++;
            await sleep(2);
            held--;
            if (i === 0) await lock.extend(3000);
            await lock.unlock();
        }
    };
    await Promise.all(clients.map(work));
    const rl = new Redlock([clients[0]], { retryCount: 0 });
    const l1 = await rl.lock('fw:redlock2', 5000);
    let refused = false;
    try { await rl.lock('fw:redlock2', 5000); } catch (e) { refused = e.name === 'LockError'; }
    const ttl = await clients[0].pttl('fw:redlock2');
    await l1.unlock();
    const gone = await clients[0].exists('fw:redlock2');
    clients.forEach((c) => c.disconnect());
    return { acquired, overlap, refused, ttlOk: ttl > 4000, gone };
}

async function bull() {
    const Queue = mod('bull');
    const redis = { port, host: '127.0.0.1' };
    const q = new Queue('fwbull', { redis });
    await q.empty();
    await q.clean(0, 'completed'); await q.clean(0, 'failed');
    const n = 40;
    let completed = 0, failed = 0, sum = 0;
    const done = new Promise((res) => {
        const check = () => { if (completed + failed === n + 2) res(); };
        q.on('global:completed', (id, r) => { completed++; sum += Number(r); check(); });
        q.on('global:failed', () => { failed++; check(); });
    });
    q.process(4, async (job) => {
        if (job.data.fail) throw new Error('boom');
        return job.data.x * 2;
    });
    const jobs = [];
    for (let i = 0; i < n; i++) jobs.push(await q.add({ x: i }));
    await q.add({ x: 1000 }, { delay: 300 });
    await q.add({ fail: true }, { attempts: 2, backoff: 10 });
    await Promise.race([done, sleep(15000)]);
    const counts = await q.getJobCounts();
    const res = await Promise.all(jobs.map((j) => q.getJob(j.id)));
    const okStates = (await Promise.all(res.map((j) => j.getState()))).filter((s) => s === 'completed').length;
    await q.close();
    return { completed, failed, sum, counts, okStates };
}

async function cachemanager() {
    const { createCache } = mod('cache-manager');
    const { Keyv } = mod('keyv');
    const KeyvRedis = mod('@keyv/redis').default;
    const store = new KeyvRedis('redis://127.0.0.1:' + port);
    const cache = createCache({ stores: [new Keyv({ store, namespace: 'fwcm' })] });
    await cache.set('a', { x: 1 }, 30000);
    const a = await cache.get('a');
    await cache.mset([{ key: 'b', value: 2, ttl: 30000 }, { key: 'c', value: 3, ttl: 200 }]);
    const m = await cache.mget(['a', 'b', 'c', 'zz']);
    const ttl = await cache.ttl('b');
    let calls = 0;
    const w1 = await cache.wrap('w', async () => { calls++; return 42; }, 30000);
    const w2 = await cache.wrap('w', async () => { calls++; return 43; }, 30000);
    await sleep(400);
    const expired = await cache.get('c');
    await cache.del('a');
    const gone = await cache.get('a');
    await cache.clear();
    const cleared = await cache.get('b');
    await cache.disconnect();
    return { a, m, ttlOk: ttl > Date.now() + 20000, w1, w2, calls, expired: expired === undefined || expired === null,
             gone: gone === undefined || gone === null, cleared: cleared === undefined || cleared === null };
}

async function resque() {
    const NR = mod('node-resque');
    const connection = { host: '127.0.0.1', port, namespace: 'fwrq' };
    let sum = 0, ran = 0;
    const jobs = {
        square: { perform: async (x) => { ran++; sum += x * x; return x * x; } },
        boom: { perform: async () => { throw new Error('boom'); } },
    };
    const queue = new NR.Queue({ connection }, jobs);
    await queue.connect();
    await queue.connection.redis.flushdb();
    for (let i = 0; i < 30; i++) await queue.enqueue('fw', 'square', [i]);
    await queue.enqueueIn(300, 'fw', 'square', [100]);
    await queue.enqueue('fw', 'boom', []);
    const scheduler = new NR.Scheduler({ connection, timeout: 100 });
    await scheduler.connect(); scheduler.start();
    const worker = new NR.Worker({ connection, queues: ['fw'], timeout: 20 }, jobs);
    let failures = 0;
    worker.on('failure', () => failures++);
    await worker.connect(); worker.start();
    const t0 = Date.now();
    while ((ran < 31 || failures < 1) && Date.now() - t0 < 15000) await sleep(50);
    const failed = await queue.failedCount();
    const stats = await queue.stats();
    const left = await queue.length('fw');
    await worker.end(); await scheduler.end(); await queue.end();
    return { ran, sum, failures, failed, processed: Number(stats.processed || 0), left };
}

(async () => {
    const fns = { ratelimit, beequeue, sessions, socketio, redlock, bull, cachemanager, resque };
    if (!fns[which]) fail('unknown workload ' + which);
    const out = await fns[which]();
    console.log(JSON.stringify(Object.assign({ ok: true }, out)));
    process.exit(0);
})().catch(fail);
