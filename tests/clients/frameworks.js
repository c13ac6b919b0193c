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
    worker.process(4, async (job) => job.data.x * 2);
    await producer.ready();
    await worker.ready();
    const n = 40;
    const done = [];
    const jobs = [];
    const saved = [];
    for (let i = 0; i < n; i++) {
        const job = producer.createJob({ x: i });
        jobs.push(new Promise((res) => job.on('succeeded', (r) => { done.push(r); res(); })));
        await job.save();
        saved.push(job);
    }
    // Job events travel over pub/sub; give them a moment, then read every
    // job's status from the server whatever the events said.
    await Promise.race([Promise.all(jobs), new Promise((res) => setTimeout(res, 5000))]);
    let ok = 0;
    for (const j of saved) {
        const got = await producer.getJob(j.id);
        if (got && got.status === 'succeeded') ok++;
    }
    await worker.close(5000);
    await producer.close(5000);
    const sum = done.reduce((a, b) => a + b, 0);
    return { jobs: ok, events: done.length, sum };
}

(async () => {
    const fns = { ratelimit, beequeue };
    if (!fns[which]) fail('unknown workload ' + which);
    const out = await fns[which]();
    console.log(JSON.stringify(Object.assign({ ok: true }, out)));
    process.exit(0);
})().catch(fail);
