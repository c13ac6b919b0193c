// Real Node.js frameworks through cachely-proxy while the master is killed
// (tests/integration/test_proxy_frameworks.py).  argv: which, then the
// proxies' ports.  Half-way the script prints "half" and waits for a line on
// stdin (the test kills the master -9, then answers), then goes on through
// the failover.  Prints one JSON line with what happened.
//   beequeue   bee-queue: a producer on one proxy saves jobs (each save that
//              resolved is acknowledged: write-ack all), a worker on another
//              runs them (BRPOPLPUSH on a blocking connection, Lua to finish,
//              stalled-job checks put back jobs cut by the kill); every
//              acknowledged job must end 'succeeded'.
//   ratelimit  rate-limiter-flexible: consumes before and after the kill;
//              the points let through never exceed the limit.
'use strict';
const path = require('path');
const readline = require('readline');
const Redis = require(path.join(__dirname, 'node_modules', 'ioredis'));
const which = process.argv[2];
const ports = process.argv.slice(3).map(Number);

function fail(msg) {
    console.log(JSON.stringify({ ok: false, error: String(msg && msg.stack || msg) }));
    process.exit(1);
}
setTimeout(() => fail('timed out'), 40000).unref();

const stdin = readline.createInterface({ input: process.stdin });
const lines = [];
let lineWaiter = null;
stdin.on('line', (l) => {
    if (lineWaiter) {
        const w = lineWaiter;
        lineWaiter = null;
        w(l);
    } else {
        lines.push(l);
    }
});
function killMaster() {
    console.log('half');
    return new Promise((res) => {
        if (lines.length) res(lines.shift());
        else lineWaiter = res;
    });
}
const sleep = (ms) => new Promise((res) => setTimeout(res, ms));

async function beequeue() {
    const Queue = require(path.join(__dirname, 'node_modules', 'bee-queue'));
    const settings = {
        stallInterval: 1000,
        // A failed BRPOPLPUSH is retried after 50 ms, doubling: the failover
        // takes about a second.
        initialRedisFailureRetryDelay: 50,
        removeOnSuccess: false,
        getEvents: false,
        sendEvents: false,
    };
    const producer = new Queue('pfw', Object.assign({ redis: { host: '127.0.0.1', port: ports[0] },
                                                      isWorker: false }, settings));
    const worker = new Queue('pfw', Object.assign({ redis: { host: '127.0.0.1', port: ports[1] },
                                                    isWorker: true }, settings));
    const reader = new Queue('pfw', Object.assign({ redis: { host: '127.0.0.1', port: ports[2 % ports.length] },
                                                    isWorker: false, storeJobs: false }, settings));
    let errors = 0;
    for (const q of [producer, worker, reader]) q.on('error', () => { errors++; });
    const ran = new Set();
    worker.process(4, async (job) => { ran.add(job.id); return job.data.x * 2; });
    await producer.ready();
    await worker.ready();
    await reader.ready();
    // Jobs cut by the kill (active, their finish lost) go back to waiting.
    const stallCheck = setInterval(() => {
        worker.checkStalledJobs().catch(() => { errors++; });
    }, 500);
    const n = 60;
    const acked = [];
    let refused = 0;
    for (let i = 0; i < n; i++) {
        if (i === n / 2) await killMaster();
        for (;;) {
            try {
                const job = await producer.createJob({ x: i }).save();
                acked.push(job.id);
                break;
            } catch (e) {
                refused++; // not acknowledged: it may or may not exist; saved again
                await sleep(50);
            }
        }
        await sleep(5);
    }
    // Every acknowledged job must end succeeded (read from the server).
    const deadline = Date.now() + 20000;
    let done = 0;
    while (Date.now() < deadline) {
        done = 0;
        for (const id of acked) {
            try {
                const got = await reader.getJob(id);
                if (got && got.status === 'succeeded') done++;
            } catch (e) {
                errors++;
            }
        }
        if (done === acked.length) break;
        await sleep(200);
    }
    clearInterval(stallCheck);
    await worker.close(3000).catch(() => {});
    await producer.close(3000).catch(() => {});
    await reader.close(3000).catch(() => {});
    return { acked: acked.length, done, refused, errors, ran: ran.size };
}

async function ratelimit() {
    const { RateLimiterRedis } = require(path.join(__dirname, 'node_modules', 'rate-limiter-flexible'));
    const limit = 20;
    const clients = ports.map((port) => new Redis({ port, host: '127.0.0.1', enableOfflineQueue: false }));
    await Promise.all(clients.map((c) => new Promise((res) => c.once('ready', res))));
    const limiters = clients.map((storeClient) => new RateLimiterRedis({
        storeClient, keyPrefix: 'prl', points: limit, duration: 120 }));
    let allowed = 0, refused = 0, errors = 0, allowedAfter = 0, refusedAfter = 0;
    let killed = false;
    for (let i = 0; i < 60; i++) {
        if (i === 10) {
            await killMaster();
            killed = true;
        }
        try {
            // Each attempt through the next proxy: they share the counter.
            await limiters[i % limiters.length].consume('user-1');
            allowed++;
            if (killed) allowedAfter++;
        } catch (e) {
            if (e instanceof Error) {
                errors++; // the failover: not let through
                await sleep(50);
            } else {
                refused++;
                if (killed) refusedAfter++;
            }
        }
    }
    clients.forEach((c) => c.disconnect());
    return { limit, allowed, refused, errors, allowedAfter, refusedAfter };
}

(async () => {
    const fns = { beequeue, ratelimit };
    if (!fns[which]) fail('unknown workload ' + which);
    const out = await fns[which]();
    console.log(JSON.stringify(Object.assign({ ok: true }, out)));
    process.exit(0);
})().catch(fail);
