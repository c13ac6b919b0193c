// Real Node.js frameworks against one server (argv: port, which):
//   ratelimit  rate-limiter-flexible's RateLimiterRedis (Lua / MULTI inside)
//   beequeue   bee-queue: producer + worker, job results and events (Lua,
//              BRPOPLPUSH, pub/sub)
// Prints one JSON line with what happened; exits non-zero on failure.
'use strict';
const path = require('path');
const Redis = require(path.join(__dirname, 'node_modules', 'ioredis'));
const port = Number(process.argv[2]);
const which = process.argv[3];

function fail(msg) {
    console.log(JSON.stringify({ ok: false, error: String(msg) }));
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

(async () => {
    const fns = { ratelimit, beequeue };
    if (!fns[which]) fail('unknown workload ' + which);
    const out = await fns[which]();
    console.log(JSON.stringify(Object.assign({ ok: true }, out)));
    process.exit(0);
})().catch(fail);
