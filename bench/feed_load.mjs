// How fast the change feed and webhooks carry records, against `wangge serve` on a demo
// data directory (wangge demo --data DIR). Reference, in the same run: `wangge export
// --what log`, which reads and renders every record of the same log as JSON.
// Usage: node bench/feed_load.mjs WANGGE_BINARY DEMO_DATA_DIR [REPORTS]
//   REPORTS (default 5000): new reports posted for the webhook measurement.
import { execFileSync, spawn } from 'node:child_process';
import { readFileSync } from 'node:fs';
import http from 'node:http';

const [binary, data, reportsArg = '5000'] = process.argv.slice(2);
if (!binary || !data) {
  console.error('usage: node bench/feed_load.mjs WANGGE_BINARY DEMO_DATA_DIR [REPORTS]');
  process.exit(2);
}
const reports = Number(reportsArg);
const token = (role) => readFileSync(`${data}/demo-tokens.txt`, 'utf8').match(new RegExp(`^${role}\\s+\\S+\\s+(\\S+)$`, 'm'))[1];
const seconds = (start) => (performance.now() - start) / 1000;
const rate = (n, s) => `${n.toLocaleString('en-US')} records in ${s.toFixed(2)} s = ${Math.round(n / s).toLocaleString('en-US')}/s`;

// Reference: export the whole log.
let start = performance.now();
const exported = execFileSync(binary, ['export', '--data', data, '--what', 'log'], { maxBuffer: 1 << 30 });
const lines = exported.toString().split('\n').filter(Boolean).length;
console.log(`reference, wangge export --what log: ${rate(lines, seconds(start))}`);

const server = spawn(binary, ['serve', '--data', data, '--tokens', `${data}/tokens`, '--listen', '127.0.0.1:0'],
                     { stdio: ['ignore', 'ignore', 'pipe'] });
process.on('exit', () => server.kill('SIGKILL'));
const base = await new Promise((resolve) => {
  let err = '';
  server.stderr.on('data', (c) => {
    err += c;
    const m = err.match(/http:\/\/127\.0\.0\.1:\d+/);
    if (m) resolve(m[0]);
  });
});
const auth = (role) => ({ Authorization: `Bearer ${token(role)}` });
const head = (await (await fetch(`${base}/readyz`)).json()).log_head;

// Server-Sent Events: every record from the start, as a supervisor.
start = performance.now();
const res = await fetch(`${base}/v1/feed?after=0`, { headers: { ...auth('supervisor'), Accept: 'text/event-stream' } });
const reader = res.body.getReader();
let seen = 0;
let tail = '';
const decoder = new TextDecoder();
while (seen < head) {
  const { value, done } = await reader.read();
  if (done) break;
  const text = tail + decoder.decode(value, { stream: true });
  const cut = text.lastIndexOf('\n');
  seen += (text.slice(0, cut).match(/^id: /gm) ?? []).length;
  tail = text.slice(cut + 1);
}
console.log(`event stream, supervisor, from 0: ${rate(seen, seconds(start))}`);
await reader.cancel();

// Long-poll: pages of 1000 from the start.
start = performance.now();
let next = 0;
let polled = 0;
while (next < head) {
  const body = await (await fetch(`${base}/v1/feed?after=${next}&limit=1000`, { headers: auth('supervisor') })).json();
  polled += body.records.length;
  next = body.next;
}
console.log(`long-poll, supervisor, pages of 1000: ${rate(polled, seconds(start))}`);

// A handler: every record is judged by its case (one read each); fewer are sent.
start = performance.now();
next = 0;
let mine = 0;
while (next < head) {
  const body = await (await fetch(`${base}/v1/feed?after=${next}&limit=1000`, { headers: auth('handler') })).json();
  mine += body.records.length;
  next = body.next;
}
console.log(`long-poll, handler of one office: ${rate(next, seconds(start))} examined, ${mine.toLocaleString('en-US')} sent`);

// Webhooks: a loopback receiver; REPORTS new reports for zonghe-zhifa, timed from the
// first post to the last delivery.
let delivered = 0;
let lastAt = 0;
const receiver = http.createServer((req, res) => {
  req.resume();
  req.on('end', () => {
    delivered += 1;
    lastAt = performance.now();
    res.end('ok');
  });
});
await new Promise((r) => receiver.listen(0, '127.0.0.1', r));
const put = await fetch(`${base}/v1/webhooks/zonghe-zhifa`, {
  method: 'PUT', headers: { ...auth('admin'), 'Content-Type': 'application/json' },
  body: JSON.stringify({ url: `http://127.0.0.1:${receiver.address().port}/hook`, secret: 'bench-secret-0123456789' }),
});
if (put.status !== 200) throw new Error(`PUT webhook: ${put.status} ${await put.text()}`);
start = performance.now();
const stamp = Date.now();
for (let b = 0; b < reports / 1000; ++b) {
  const lines = [];
  for (let i = 0; i < 1000; ++i) {
    lines.push(JSON.stringify({ client_id: `bench-${stamp}-${b}-${i}`, category: 'env.garbage', village: 'V07',
                                grid: 'V07-G1', severity: 2, reported_at: new Date().toISOString() }));
  }
  const r = await fetch(`${base}/v1/reports:batch`, { method: 'POST', headers: { ...auth('worker'), 'Content-Type': 'application/x-ndjson' }, body: lines.join('\n') });
  if (r.status !== 200) throw new Error(`batch: ${r.status}`);
}
const posted = seconds(start);
while (delivered < reports) await new Promise((r) => setTimeout(r, 50));
console.log(`webhook, one POST a record, to a loopback receiver: ${rate(delivered, (lastAt - start) / 1000)} (posting took ${posted.toFixed(2)} s)`);
await fetch(`${base}/v1/webhooks/zonghe-zhifa`, { method: 'DELETE', headers: auth('admin') });
receiver.close();
server.kill('SIGTERM');
await new Promise((r) => server.on('exit', r));
