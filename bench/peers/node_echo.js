#!/usr/bin/env node
// node_echo: the Node.js peer of the side-by-side benchmark, and the model our net module follows.
//
// The echo server every Node user writes: socket.on('data', d => socket.write(d)). Each read
// arrives as a Buffer; socket.write() tries the write at once and queues only what the kernel did
// not take. noDelay as in every peer. An 'error' listener keeps a reset connection from ending
// the process.
//
//   node node_echo.js [--port N] [--mode echo|discard]
//
// Listens on 127.0.0.1:N (0, the default, lets the kernel pick) and prints
// "listening on 127.0.0.1:PORT" as its first line. SIGINT or SIGTERM ends it with status 0.
'use strict';
const net = require('net');

function usage(out) {
  out.write('usage: node node_echo.js [--port N] [--mode echo|discard]\n' +
            '  Node.js net echo server on 127.0.0.1.\n' +
            '  --port N     port to listen on; 0 (default) picks a free one\n' +
            '  --mode M     echo (default): write every byte back; discard: read and drop\n');
}

let port = 0;
let discard = false;
const argv = process.argv.slice(2);
for (let i = 0; i < argv.length; i++) {
  if (argv[i] === '--port' && i + 1 < argv.length) {
    port = Number(argv[++i]);
  } else if (argv[i] === '--mode' && i + 1 < argv.length) {
    const mode = argv[++i];
    if (mode !== 'echo' && mode !== 'discard') { usage(process.stderr); process.exit(2); }
    discard = mode === 'discard';
  } else if (argv[i] === '--help' || argv[i] === '-h') {
    usage(process.stdout);
    process.exit(0);
  } else {
    usage(process.stderr);
    process.exit(2);
  }
}
if (!Number.isInteger(port) || port < 0 || port > 65535) { usage(process.stderr); process.exit(2); }

const sockets = new Set();
const server = net.createServer({ noDelay: true }, (socket) => {
  sockets.add(socket);
  socket.on('close', () => sockets.delete(socket));
  socket.on('error', () => {});
  if (discard) socket.resume();
  else socket.on('data', (d) => socket.write(d));
});

server.listen(port, '127.0.0.1', () => {
  process.stdout.write(`listening on 127.0.0.1:${server.address().port}\n`);
});

function stop() {
  server.close();
  for (const socket of sockets) socket.destroy();
}
process.on('SIGINT', stop);
process.on('SIGTERM', stop);
