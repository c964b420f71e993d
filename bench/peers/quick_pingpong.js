#!/usr/bin/env node
// quick_pingpong: a small pingpong load generator in Node, for a first look at the echo peers
// before netload exists.
//
// N connections each send one block of S bytes; from then on every byte a connection receives is
// written straight back, so each block bounces between client and server until the run ends.
// After a warm-up, it counts the bytes the client receives for D seconds and prints messages/s
// (received bytes / S per second) and MiB/s (one direction). With --server-pid it also reads the
// server's CPU time from /proc over the same window; it always reports its own CPU time and how
// busy each core was (from /proc/stat, which also counts the kernel's softirq work for loopback
// TCP that neither process is charged for). A client core near 100% while the server's core is
// not means the client is the bottleneck, and then the server's CPU time per message or per MiB
// is the number to compare.
//
//   node quick_pingpong.js --port P [--host 127.0.0.1] [--connections 100] [--size 16384]
//                          [--duration 5] [--warmup 1] [--server-pid PID] [--json]
'use strict';
const net = require('net');
const fs = require('fs');
const { execFileSync } = require('child_process');

function usage(out) {
  out.write('usage: node quick_pingpong.js --port P [--host H] [--connections N] [--size S]\n' +
            '                               [--duration D] [--warmup W] [--server-pid PID] [--json]\n' +
            '  N connections (100) each bounce an S-byte block (16384) off an echo server;\n' +
            '  measures D seconds (5) after W seconds of warm-up (1).\n');
}

const opt = { host: '127.0.0.1', port: 0, connections: 100, size: 16384, duration: 5, warmup: 1,
              serverPid: 0, json: false };
const names = { '--host': 'host', '--port': 'port', '--connections': 'connections', '--size': 'size',
                '--duration': 'duration', '--warmup': 'warmup', '--server-pid': 'serverPid' };
const argv = process.argv.slice(2);
for (let i = 0; i < argv.length; i++) {
  const a = argv[i];
  if (a === '--json') opt.json = true;
  else if (a === '--help' || a === '-h') { usage(process.stdout); process.exit(0); }
  else if (names[a] && i + 1 < argv.length) {
    const v = argv[++i];
    opt[names[a]] = names[a] === 'host' ? v : Number(v);
  } else { usage(process.stderr); process.exit(2); }
}
if (!(opt.port > 0 && opt.connections > 0 && opt.size > 0 && opt.duration > 0 && opt.warmup >= 0)) {
  usage(process.stderr);
  process.exit(2);
}

let ticksPerSecond = 100;
try { ticksPerSecond = Number(execFileSync('getconf', ['CLK_TCK']).toString()) || 100; } catch (e) {}

// CPU seconds (user + system, all threads) of a process, from /proc/PID/stat.
function processCpuSeconds(pid) {
  const stat = fs.readFileSync(`/proc/${pid}/stat`, 'utf8');
  const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
  return (Number(fields[11]) + Number(fields[12])) / ticksPerSecond;  // utime, stime
}
function clientCpuSeconds() {
  const u = process.cpuUsage();
  return (u.user + u.system) / 1e6;
}
// Busy and total ticks of each CPU, from /proc/stat. A process's own CPU time leaves out the
// softirq time the kernel spends on loopback traffic, which is a good part of a core here; the
// busy share of the pinned cores shows what is left idle.
function coreTicks() {
  let text = '';
  try { text = fs.readFileSync('/proc/stat', 'utf8'); } catch (e) { return []; }
  const cores = [];
  for (const line of text.split('\n')) {
    const m = /^cpu(\d+) (.*)$/.exec(line);
    if (!m) continue;
    const t = m[2].trim().split(/\s+/).map(Number);  // user nice system idle iowait irq softirq steal
    const total = t.slice(0, 8).reduce((a, b) => a + b, 0);
    cores[Number(m[1])] = { busy: total - t[3] - t[4], total, tasks: t[0] + t[1] + t[2] };
  }
  return cores;
}
function snapshot() {
  return { time: process.hrtime.bigint(), bytes: received, client: clientCpuSeconds(),
           server: opt.serverPid ? processCpuSeconds(opt.serverPid) : 0, cores: coreTicks() };
}

let received = 0;
let connected = 0;
const sockets = [];
const block = Buffer.alloc(opt.size, 'x');

function fail(message) {
  process.stderr.write(`quick_pingpong: ${message}\n`);
  process.exit(1);
}

// The run is bounded: connecting may take at most 10 s, and the whole run warm-up + D + 10 s.
const connectTimer = setTimeout(() => fail(`only ${connected} of ${opt.connections} connected`), 10000);
const hardStop = setTimeout(() => fail('run did not finish in time'),
                            (opt.warmup + opt.duration + 10) * 1000);

for (let i = 0; i < opt.connections; i++) {
  const s = net.connect({ host: opt.host, port: opt.port, noDelay: true });
  sockets.push(s);
  s.on('error', (e) => fail(`connection ${i}: ${e.message}`));
  s.on('connect', () => { if (++connected === opt.connections) start(); });
  s.on('data', (d) => {
    received += d.length;
    s.write(d);
  });
}

function start() {
  clearTimeout(connectTimer);
  for (const s of sockets) s.write(block);
  setTimeout(() => {
    const begin = snapshot();
    setTimeout(() => finish(begin, snapshot()), opt.duration * 1000);
  }, opt.warmup * 1000);
}

function finish(begin, end) {
  clearTimeout(hardStop);
  for (const s of sockets) { s.removeAllListeners('error'); s.on('error', () => {}); s.destroy(); }
  const seconds = Number(end.time - begin.time) / 1e9;
  const bytes = end.bytes - begin.bytes;
  const messages = bytes / opt.size;
  const r = {
    connections: opt.connections, size: opt.size, seconds: +seconds.toFixed(3),
    messages_per_s: Math.round(messages / seconds),
    mib_per_s: +(bytes / 1048576 / seconds).toFixed(1),
    client_cpu: +((end.client - begin.client) / seconds).toFixed(3),
    cores_busy: end.cores.map((c, i) => {
      const b = begin.cores[i];
      return b && c.total > b.total ? +((c.busy - b.busy) / (c.total - b.total)).toFixed(3) : null;
    }),
  };
  if (opt.serverPid) {
    const serverCpu = end.server - begin.server;
    r.server_cpu = +(serverCpu / seconds).toFixed(3);
    r.server_ns_per_message = messages ? Math.round(serverCpu * 1e9 / messages) : null;
    r.server_cpu_ms_per_mib = bytes ? +(serverCpu * 1e3 / (bytes / 1048576)).toFixed(3) : null;
    // CPU that neither side used (user + system time of all cores less theirs): other programs
    // running at the same time. More than a few percent makes the numbers of this run unreliable.
    if (end.cores.length) {
      const tasks = end.cores.reduce((sum, c, i) => sum + c.tasks - (begin.cores[i] ? begin.cores[i].tasks : 0), 0);
      const other = tasks / ticksPerSecond - serverCpu - (end.client - begin.client);
      r.other_cpu = +Math.max(0, other / seconds).toFixed(3);
    }
  }
  if (opt.json) {
    process.stdout.write(JSON.stringify(r) + '\n');
  } else {
    let line = `pingpong ${r.connections} x ${r.size} B, ${r.seconds} s: ${r.messages_per_s} msg/s, ` +
               `${r.mib_per_s} MiB/s, client cpu ${(r.client_cpu * 100).toFixed(0)}%`;
    if (opt.serverPid) {
      line += `, server cpu ${(r.server_cpu * 100).toFixed(0)}%, server ${r.server_ns_per_message} ns/msg`;
      if (r.other_cpu !== undefined) line += `, other programs ${(r.other_cpu * 100).toFixed(0)}%`;
    }
    if (r.cores_busy.length) {
      line += `, cores busy ${r.cores_busy.map((b) => `${Math.round(b * 100)}%`).join(' ')}`;
    }
    process.stdout.write(line + '\n');
  }
}
