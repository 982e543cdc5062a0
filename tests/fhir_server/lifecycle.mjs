// Shared start-up and shutdown for the magcds test servers.
//
// Every server:
// - listens on 127.0.0.1 only (never another address);
// - prints one line "LISTENING <port>" on stdout once it accepts connections
//   (with --port 0 the kernel picks the port; the test reads it from that line);
// - exits when its standard input reaches end of file, i.e. when the test
//   process that started it (and holds the pipe's write end) exits or dies,
//   and in any case after --max-seconds (default 300), so none outlives a run.

import fs from 'node:fs';
import http from 'node:http';
import https from 'node:https';

export function parseArgs(argv) {
  const args = { port: 0, maxSeconds: 300 };
  for (let i = 2; i < argv.length; i++) {
    const flag = argv[i];
    const value = argv[i + 1];
    if (flag === '--port') {
      args.port = Number(value);
      i++;
    } else if (flag === '--max-seconds') {
      args.maxSeconds = Number(value);
      i++;
    } else if (flag.startsWith('--')) {
      args[flag.slice(2)] = value;
      i++;
    }
  }
  if (!Number.isInteger(args.port) || args.port < 0 || args.port > 65535) {
    throw new Error('--port must be 0..65535');
  }
  return args;
}

// Starts `handler` on 127.0.0.1 and wires the exit conditions above.
// With --tls-cert FILE --tls-key FILE it serves https instead of http.
export function serve(handler, args, onSocket) {
  const server = args['tls-cert']
    ? https.createServer({ cert: fs.readFileSync(args['tls-cert']),
      key: fs.readFileSync(args['tls-key']) }, handler)
    : http.createServer(handler);
  server.keepAliveTimeout = 5000;
  const sockets = new Set();
  server.on(args['tls-cert'] ? 'secureConnection' : 'connection', (socket) => {
    sockets.add(socket);
    socket.on('close', () => sockets.delete(socket));
    if (onSocket) onSocket(socket);
  });
  const stop = () => {
    for (const socket of sockets) socket.destroy();
    server.close(() => process.exit(0));
    setTimeout(() => process.exit(0), 200).unref();
  };
  process.stdin.on('end', stop);
  process.stdin.on('error', stop);
  process.stdin.resume();
  process.on('SIGTERM', stop);
  process.on('SIGINT', stop);
  setTimeout(stop, args.maxSeconds * 1000).unref();
  server.listen(args.port, '127.0.0.1', () => {
    process.stdout.write(`LISTENING ${server.address().port}\n`);
  });
  return server;
}

export function readBody(req, limit = 16 * 1024 * 1024) {
  return new Promise((resolve, reject) => {
    const chunks = [];
    let size = 0;
    req.on('data', (chunk) => {
      size += chunk.length;
      if (size > limit) {
        reject(new Error('body too large'));
        req.destroy();
        return;
      }
      chunks.push(chunk);
    });
    req.on('end', () => resolve(Buffer.concat(chunks).toString('utf8')));
    req.on('error', reject);
  });
}

export function sendJson(res, status, value, contentType = 'application/fhir+json') {
  const body = typeof value === 'string' ? value : JSON.stringify(value);
  res.writeHead(status, { 'Content-Type': contentType, 'Content-Length': Buffer.byteLength(body) });
  res.end(body);
}

export function operationOutcome(code, diagnostics) {
  return {
    resourceType: 'OperationOutcome',
    issue: [{ severity: 'error', code, diagnostics }],
  };
}
