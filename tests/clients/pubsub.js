// Pub/sub through cachely-proxy with a real Node.js client:
//   node pubsub.js ioredis|node-redis|node-redis-5 <port> [<node port>]
// A subscriber (SUBSCRIBE news, PSUBSCRIBE n*) and a publisher, both
// through the proxy: 200 PUBLISHes, each answered 2 (the channel and the
// pattern), every message and pmessage received once and in order; with a
// node port, 50 more published straight on the node arrive too.  Then
// UNSUBSCRIBE and a publish that nobody receives (0).  Prints one line per
// step; exits 0 when every step passed.
'use strict';

const [which, portArg, nodePortArg] = process.argv.slice(2);
const port = Number(portArg);
const nodePort = nodePortArg ? Number(nodePortArg) : 0;
const N = 200;
const DIRECT = 50;

function check(cond, what) {
  if (!cond) {
    throw new Error(what);
  }
}

function waitFor(pred, ms, what) {
  return new Promise((resolve, reject) => {
    const t0 = Date.now();
    const tick = () => {
      if (pred()) return resolve();
      if (Date.now() - t0 > ms) return reject(new Error('timed out waiting for ' + what));
      setTimeout(tick, 20);
    };
    tick();
  });
}

// { subscribe(onMsg, onPmsg), publish(p, ch, msg), unsubscribe(), close() }
async function ioredisClients(p) {
  const Redis = require('ioredis');
  const mk = (pp) => new Redis({ port: pp, host: '127.0.0.1', maxRetriesPerRequest: 0 });
  const sub = mk(port);
  const pubs = {};
  const pub = (pp) => (pubs[pp] = pubs[pp] || mk(pp));
  return {
    subscribe: async (onMsg, onPmsg) => {
      sub.on('message', (ch, msg) => onMsg(ch, msg));
      sub.on('pmessage', (pat, ch, msg) => onPmsg(pat, ch, msg));
      await sub.subscribe('news');
      await sub.psubscribe('n*');
    },
    publish: (pp, ch, msg) => pub(pp).publish(ch, msg),
    unsubscribe: async () => {
      await sub.unsubscribe('news');
      await sub.punsubscribe('n*');
    },
    close: async () => {
      sub.disconnect();
      for (const c of Object.values(pubs)) c.disconnect();
    },
  };
}

async function nodeRedisClients(pkg) {
  const { createClient } = require(pkg);
  const mk = async (pp) => {
    const c = createClient({ socket: { port: pp, host: '127.0.0.1', reconnectStrategy: false } });
    c.on('error', () => {});
    await c.connect();
    return c;
  };
  const sub = await mk(port);
  const pubs = {};
  const pub = async (pp) => (pubs[pp] = pubs[pp] || (await mk(pp)));
  return {
    subscribe: async (onMsg, onPmsg) => {
      await sub.subscribe('news', (msg, ch) => onMsg(ch, msg));
      await sub.pSubscribe('n*', (msg, ch) => onPmsg('n*', ch, msg));
    },
    publish: async (pp, ch, msg) => (await pub(pp)).publish(ch, msg),
    unsubscribe: async () => {
      await sub.unsubscribe('news');
      await sub.pUnsubscribe('n*');
    },
    close: async () => {
      await sub.disconnect();
      for (const c of Object.values(pubs)) await c.disconnect();
    },
  };
}

async function main() {
  const c = which === 'ioredis' ? await ioredisClients()
    : await nodeRedisClients(which === 'node-redis-5' ? 'redis5' : 'redis');
  const msgs = [];
  const pmsgs = [];
  await c.subscribe((ch, m) => msgs.push([ch, m]), (pat, ch, m) => pmsgs.push([pat, ch, m]));
  console.log('subscribed');
  for (let i = 0; i < N; i++) {
    const n = Number(await c.publish(port, 'news', 'm' + i));
    check(n === 2, 'PUBLISH ' + i + ' answered ' + n + ', want 2');
  }
  let want = N;
  if (nodePort) {
    for (let i = 0; i < DIRECT; i++) {
      await c.publish(nodePort, 'news', 'd' + i);
    }
    want += DIRECT;
  }
  await waitFor(() => msgs.length >= want && pmsgs.length >= want, 10000, want + ' messages');
  await new Promise((r) => setTimeout(r, 200)); // anything extra would show now
  check(msgs.length === want && pmsgs.length === want,
    'got ' + msgs.length + ' messages and ' + pmsgs.length + ' pmessages, want ' + want);
  for (let i = 0; i < want; i++) {
    const body = i < N ? 'm' + i : 'd' + (i - N);
    check(msgs[i][0] === 'news' && msgs[i][1] === body, 'message ' + i + ': ' + msgs[i]);
    check(pmsgs[i][0] === 'n*' && pmsgs[i][1] === 'news' && pmsgs[i][2] === body,
      'pmessage ' + i + ': ' + pmsgs[i]);
  }
  console.log('received ' + want + ' messages and pmessages in order');
  await c.unsubscribe();
  // The proxy's UNSUBSCRIBE reaches the node on its subscriber connection,
  // the PUBLISH on another: the count may lag by a moment.
  let n = -1;
  const t0 = Date.now();
  while (n !== 0 && Date.now() - t0 < 5000) {
    n = Number(await c.publish(port, 'news', 'nobody'));
  }
  check(n === 0, 'PUBLISH after UNSUBSCRIBE answered ' + n);
  console.log('unsubscribed');
  await c.close();
  console.log('PASS ' + which);
}

main().catch((e) => {
  console.log('FAIL ' + which + ': ' + (e && e.stack ? e.stack : e));
  process.exit(1);
});
