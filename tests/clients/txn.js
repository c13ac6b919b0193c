// Transactions and scripts through cachely-proxy with ioredis:
//   node txn.js <port>
// multi().exec() (results as the node gives them), a WATCH that aborts when
// another connection writes the key, a pipelined multi behind a write that
// must read it, an EXECABORT, and a defineCommand script (EVALSHA, falling
// back to EVAL on NOSCRIPT as ioredis does).  Prints "PASS ioredis-txn".
'use strict';

const Redis = require('ioredis');
const port = Number(process.argv[2]);

function check(cond, what) {
  if (!cond) {
    throw new Error(what);
  }
}

async function main() {
  const opts = { port, host: '127.0.0.1', maxRetriesPerRequest: 0 };
  const r = new Redis(opts);
  const other = new Redis(opts);
  await r.del('{t}a', '{t}b', '{t}w');

  const res = await r.multi().set('{t}a', '1').incr('{t}a').rpush('{t}b', 'x', 'y').get('{t}a').exec();
  check(JSON.stringify(res) === JSON.stringify([[null, 'OK'], [null, 2], [null, 2], [null, '2']]),
    'multi().exec() gave ' + JSON.stringify(res));
  console.log('multi/exec ok');

  // Not awaited: the SET is pipelined ahead of the transaction and the
  // transaction must see it.
  r.set('{t}a', '10');
  const seen = await r.multi().incr('{t}a').exec();
  check(seen[0][1] === 11, 'the multi ran after the pipelined SET: ' + JSON.stringify(seen));
  console.log('pipelined order ok');

  await r.watch('{t}w');
  await other.set('{t}w', 'changed');
  const aborted = await r.multi().set('{t}w', 'mine').exec();
  check(aborted === null, 'WATCH abort gave ' + JSON.stringify(aborted));
  check((await r.get('{t}w')) === 'changed', 'the aborted transaction wrote nothing');
  await r.watch('{t}w');
  const ok = await r.multi().set('{t}w', 'mine').exec();
  check(ok && ok[0][1] === 'OK' && (await r.get('{t}w')) === 'mine', 'WATCH without a change');
  console.log('watch ok');

  let err = null;
  try {
    await r.multi().set('{t}a', '1').incr('{t}a', 'extra').exec();
  } catch (e) {
    err = e;
  }
  check(err && /EXECABORT/.test(String(err)), 'EXECABORT expected, got ' + err);
  console.log('execabort ok');

  r.defineCommand('getset2', {
    numberOfKeys: 1,
    lua: "local v = redis.call('get', KEYS[1]); redis.call('set', KEYS[1], ARGV[1]); return v",
  });
  await r.set('{t}s', 'old');
  check((await r.getset2('{t}s', 'new')) === 'old', 'script first call');
  check((await r.getset2('{t}s', 'newer')) === 'new', 'script second call (EVALSHA)');
  console.log('script ok');

  r.disconnect();
  other.disconnect();
  console.log('PASS ioredis-txn');
}

main().catch((e) => {
  console.error(e);
  process.exit(1);
});
