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
//   bullmq     BullMQ: the same with its Queue and Worker (Lua scripts,
//              BZPOPMIN on a blocking connection, locks that expire and
//              the stalled-job check for jobs cut by the kill).
//   ratelimit  rate-limiter-flexible: consumes before and after the kill;
//              the points let through never exceed the limit.
//   ioredis, node-redis
//              an application on that client library: plain writes,
//              MULTI/EXEC, EVALSHA and a pub/sub subscriber (its channel
//              and +switch-master) through the proxies, before and after
//              the kill.  Reports what was acknowledged (the test reads it
//              back on the new master) and every error; an error that is
//              not a RESP error reply counts in "otherErrors".
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

// n jobs made by add(i) (which resolves to the job's id), the master killed
// half-way; each refused add is tried again until it is acknowledged.
async function addJobs(n, add) {
    const acked = [];
    let refused = 0;
    for (let i = 0; i < n; i++) {
        if (i === n / 2) await killMaster();
        for (;;) {
            try {
                acked.push(await add(i));
                break;
            } catch (e) {
                refused++;
                await sleep(50);
            }
        }
        await sleep(5);
    }
    return { acked, refused };
}

// How many of ids isDone says are done, asked again every 200 ms until all
// are or ms pass; a failed question calls onError.
async function countDone(ids, ms, isDone, onError) {
    const deadline = Date.now() + ms;
    let done = 0;
    while (Date.now() < deadline) {
        done = 0;
        for (const id of ids) {
            try {
                if (await isDone(id)) done++;
            } catch (e) {
                onError(e);
            }
        }
        if (done === ids.length) break;
        await sleep(200);
    }
    return done;
}

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
    // A save not acknowledged may or may not exist: saved again.
    const { acked, refused } = await addJobs(60, async (i) =>
        (await producer.createJob({ x: i }).save()).id);
    // Every acknowledged job must end succeeded (read from the server).
    const done = await countDone(acked, 20000, async (id) => {
        const got = await reader.getJob(id);
        return got && got.status === 'succeeded';
    }, () => { errors++; });
    clearInterval(stallCheck);
    await worker.close(3000).catch(() => {});
    await producer.close(3000).catch(() => {});
    await reader.close(3000).catch(() => {});
    return { acked: acked.length, done, refused, errors, ran: ran.size };
}

async function bullmq() {
    const { Queue, Worker, Job } = require(path.join(__dirname, 'node_modules', 'bullmq'));
    // BullMQ wants maxRetriesPerRequest null on its connections; a lock
    // lost with the master (an active job's) expires in 2 s and the stalled
    // check puts the job back.
    const conn = (port) => ({ host: '127.0.0.1', port, maxRetriesPerRequest: null });
    const queue = new Queue('pbq', { connection: conn(ports[0]) });
    const ran = new Set();
    let errors = 0;
    const worker = new Worker('pbq', async (job) => { ran.add(job.id); return job.data.x * 2; },
                              { connection: conn(ports[1]), concurrency: 4, lockDuration: 2000,
                                stalledInterval: 1000, maxStalledCount: 10 });
    worker.on('error', () => { errors++; });
    queue.on('error', () => { errors++; });
    await queue.waitUntilReady();
    await worker.waitUntilReady();
    // An add not acknowledged is made again (same jobId, so at most once).
    const { acked, refused } = await addJobs(60, async (i) =>
        (await queue.add('j', { x: i }, { jobId: 'job' + i })).id);
    // Every acknowledged job must end completed (read from the server).
    const done = await countDone(acked, 25000, async (id) => {
        const job = await Job.fromId(queue, id);
        return job && (await job.getState()) === 'completed';
    }, () => { errors++; });
    await worker.close().catch(() => {});
    await queue.close().catch(() => {});
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

// One client library behind the same small interface, so that the
// application below runs unchanged on both.
async function ioredisLib() {
    const mk = (port) => new Redis({ port, host: '127.0.0.1', maxRetriesPerRequest: 1 });
    const ready = (c) => new Promise((res) => c.once('ready', res));
    return {
        isReply: (e) => e instanceof Redis.ReplyError,
        connect: async (port) => {
            const c = mk(port);
            c.on('error', () => {});
            await ready(c);
            return {
                set: (k, v) => c.set(k, v),
                incr: (k) => c.incr(k),
                // [reply or Error, ...], or throws when EXEC itself failed
                multi: async (cmds) => {
                    const m = c.multi();
                    for (const [name, ...args] of cmds) m[name](...args);
                    const out = await m.exec();
                    if (out === null) throw new Error('EXEC answered nil (no WATCH here)');
                    return out.map(([err, v]) => err || v);
                },
                // WATCH key, read it, MULTI: key + 1, push i.  false when
                // the WATCH aborted it.
                watchTx: async (key, lkey, i) => {
                    try {
                        await c.watch(key);
                        const v = Number((await c.get(key)) || 0);
                        const out = await c.multi().set(key, String(v + 1)).rpush(lkey, String(i))
                            .exec();
                        if (out === null) return false;
                        const err = out.find(([e]) => e);
                        if (err) throw err[0];
                        return true;
                    } finally {
                        await c.unwatch().catch(() => {});
                    }
                },
                scriptLoad: (body) => c.script('LOAD', body),
                evalsha: (sha, keys, args) => c.evalsha(sha, keys.length, ...keys, ...args),
                publish: (ch, msg) => c.publish(ch, msg),
                close: () => c.disconnect(),
            };
        },
        subscribe: async (port, channels, onMessage) => {
            const c = mk(port);
            c.on('error', () => {});
            c.on('message', (ch, msg) => onMessage(ch, msg));
            await c.subscribe(...channels);
            return { close: () => c.disconnect() };
        },
    };
}

async function nodeRedisLib() {
    const redis = require(path.join(__dirname, 'node_modules', 'redis'));
    const mk = async (port) => {
        const c = redis.createClient({ socket: { port, host: '127.0.0.1' } });
        c.on('error', () => {});
        await c.connect();
        return c;
    };
    const camel = { rpush: 'rPush', set: 'set', incr: 'incr' };
    return {
        isReply: (e) => e instanceof redis.ErrorReply,
        connect: async (port) => {
            const c = await mk(port);
            return {
                set: (k, v) => c.set(k, v),
                incr: (k) => c.incr(k),
                multi: async (cmds) => {
                    const m = c.multi();
                    for (const [name, ...args] of cmds) {
                        if (name === 'rpush') m.rPush(args[0], args.slice(1).map(String));
                        else m[camel[name]](...args.map(String));
                    }
                    return await m.exec();
                },
                watchTx: async (key, lkey, i) => {
                    try {
                        await c.watch(key);
                        const v = Number((await c.get(key)) || 0);
                        const out = await c.multi().set(key, String(v + 1))
                            .rPush(lkey, String(i)).exec();
                        const err = out.find((r) => r instanceof Error);
                        if (err) throw err;
                        return true;
                    } catch (e) {
                        if (e instanceof redis.WatchError) return false;
                        throw e;
                    } finally {
                        await c.unwatch().catch(() => {});
                    }
                },
                scriptLoad: (body) => c.scriptLoad(body),
                evalsha: (sha, keys, args) => c.evalSha(sha, { keys, arguments: args.map(String) }),
                publish: (ch, msg) => c.publish(ch, msg),
                close: () => c.disconnect(),
            };
        },
        subscribe: async (port, channels, onMessage) => {
            const c = await mk(port);
            await c.subscribe(channels, (msg, ch) => onMessage(ch, msg));
            return { close: () => c.disconnect() };
        },
    };
}

// The application: each round writes through one of two proxies (SET, INCR,
// a MULTI/EXEC of three writes, an EVALSHA; in loop 0 a WATCH/GET/MULTI/EXEC
// increment on a connection of its own), never re-sending what failed; a
// subscriber on the third proxy listens to its channel and +switch-master.
// Half-way the master is killed; the rounds go on until some ran after the
// subscriber heard the switch, then 30 messages are published and must all
// arrive.
async function app(libName) {
    const lib = libName === 'ioredis' ? await ioredisLib() : await nodeRedisLib();
    const cs = [await lib.connect(ports[0]), await lib.connect(ports[1 % ports.length])];
    // WATCH needs a connection of its own (the loops share cs).
    const wc = await lib.connect(ports[1 % ports.length]);
    const got = [];
    let switchedAt = 0;
    const sub = await lib.subscribe(ports[2 % ports.length], ['pfw:news', '+switch-master'],
        (ch, msg) => {
            if (ch === '+switch-master') switchedAt = switchedAt || Date.now();
            else got.push(msg);
        });
    const replyErrors = {};
    const otherErrors = [];
    const failed = (e) => {
        if (lib.isReply(e)) {
            const m = String(e.message).slice(0, 120);
            replyErrors[m] = (replyErrors[m] || 0) + 1;
        } else {
            otherErrors.push(String(e && e.message || e).slice(0, 200));
        }
    };
    const body = "redis.call('hset', KEYS[1], ARGV[1], ARGV[1]); return redis.call('hlen', KEYS[1])";
    const sha = await cs[0].scriptLoad(body);
    const out = { sets: [], txs: [], evals: [], setsNotRun: [], txsNotRun: [], evalsNotRun: [],
                  watched: [], watchedNotRun: [], watchAborted: 0,
                  incrAcked: 0, incrFailed: 0,
                  rounds: 0, roundsAfterSwitch: 0 };
    const N = 60;
    const deadline = Date.now() + 25000;
    let stop = false;
    // Two loops at once, so that requests are in flight when the master
    // dies: loop 0 (rounds 0..) asks for the kill half-way, loop 1 (rounds
    // 1000..) does not wait for it.
    const loop = async (w) => {
        for (let n = 0; !stop; n++) {
            const i = w * 1000 + n;
            if (w === 0 && n === N / 2) await killMaster();
            if (w === 0 && n >= N && switchedAt && out.roundsAfterSwitch >= 10) break;
            if (Date.now() > deadline) {
                throw new Error('rounds did not resume after the failover: ' +
                                JSON.stringify({ i, switchedAt, out, replyErrors, otherErrors }));
            }
            const c = cs[(n + w) % 2];
            let ok = true;
            let notRun = false; // the error said the command did not run
            const step = async (fn) => {
                notRun = false;
                try {
                    return await fn();
                } catch (e) {
                    ok = false;
                    failed(e);
                    notRun = lib.isReply(e) && /(was not|nothing was) executed/.test(e.message);
                    return undefined;
                }
            };
            if ((await step(() => c.set('{pfw}k:' + i, 'v' + i))) === 'OK') out.sets.push(i);
            else if (notRun) out.setsNotRun.push(i);
            if ((await step(() => c.incr('{pfw}ctr'))) !== undefined) out.incrAcked++;
            else out.incrFailed++;
            const res = await step(() => c.multi([['rpush', '{pfw}txl', i],
                                                  ['set', '{pfw}tx:' + i, i],
                                                  ['incr', '{pfw}txctr']]));
            if (res !== undefined) {
                const errs = res.filter((r) => r instanceof Error);
                errs.forEach(failed);
                if (errs.length === 0) out.txs.push(i);
                else ok = false;
            } else if (notRun) {
                out.txsNotRun.push(i);
            }
            if ((await step(() => c.evalsha(sha, ['{pfw}h'], [i]))) !== undefined) out.evals.push(i);
            else if (notRun) out.evalsNotRun.push(i);
            if (w === 0) {
                const done = await step(() => wc.watchTx('{pfw}w', '{pfw}wl', i));
                if (done === true) out.watched.push(i);
                else if (done === false) out.watchAborted++;
                else if (notRun) out.watchedNotRun.push(i);
            }
            out.rounds++;
            if (switchedAt && ok) out.roundsAfterSwitch++;
            await sleep(ok ? 5 : 50);
        }
        stop = true;
    };
    await Promise.all([loop(0), loop(1)]);
    // Published once the subscriber heard +switch-master: every one arrives.
    const want = [];
    for (let j = 0; j < 30; j++) {
        const msg = 'after:' + j;
        for (;;) {
            try {
                await cs[j % 2].publish('pfw:news', msg);
                want.push(msg);
                break;
            } catch (e) {
                failed(e);
                if (Date.now() > deadline) throw e;
                await sleep(50);
            }
        }
    }
    const t0 = Date.now();
    while (want.some((m) => !got.includes(m)) && Date.now() - t0 < 5000) await sleep(20);
    out.afterSwitchPublished = want.length;
    out.afterSwitchReceived = want.filter((m) => got.includes(m)).length;
    out.switchHeard = switchedAt > 0;
    out.replyErrors = replyErrors;
    out.otherErrors = otherErrors;
    for (const c of cs) await c.close();
    await wc.close();
    await sub.close();
    return out;
}

(async () => {
    const fns = { beequeue, bullmq, ratelimit, ioredis: () => app('ioredis'),
                  'node-redis': () => app('node-redis') };
    if (!fns[which]) fail('unknown workload ' + which);
    const out = await fns[which]();
    console.log(JSON.stringify(Object.assign({ ok: true }, out)));
    process.exit(0);
})().catch(fail);
