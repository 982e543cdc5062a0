// A fixed-delay FHIR R4 server for the fetch-mode benchmark (issue #7).
//
//   node fhir_delay.mjs --data REQUEST.json [--delay-ms 20] [--port 0] [--max-seconds 900]
//
// Answers every FHIR GET after exactly --delay-ms (a timer, no CPU work), with
// the data of REQUEST.json's prefetch (a CDS Hooks request as written by
// gen_data.py), so fetch mode evaluates the same patient as the prefetch run:
//   GET <any base>/Patient/<id>              -> prefetch.patient
//   GET <any base>/MedicationRequest?...     -> prefetch.medications (searchset)
//   GET <any base>/MedicationStatement?...   -> prefetch.medicationStatements
//   GET <any base>/Condition?...             -> prefetch.conditions
//   GET <any base>/Observation?...           -> prefetch.observations
//   anything else                            -> 404 OperationOutcome (same delay)
// Bodies are serialised once at start. Listens on 127.0.0.1 only; prints
// "LISTENING <port>"; exits on SIGTERM/SIGINT, when stdin closes, and after
// --max-seconds in any case. GET /_bench/stats answers
// without delay: {requests, connections (accepted), inflightMax}, and resets them.

import fs from 'node:fs';
import http from 'node:http';

const args = { port: 0, delayMs: 20, maxSeconds: 900, data: '' };
for (let i = 2; i < process.argv.length; i += 2) {
  const [flag, value] = [process.argv[i], process.argv[i + 1]];
  if (flag === '--port') args.port = Number(value);
  else if (flag === '--delay-ms') args.delayMs = Number(value);
  else if (flag === '--max-seconds') args.maxSeconds = Number(value);
  else if (flag === '--data') args.data = value;
  else throw new Error(`unknown flag ${flag}`);
}
if (!args.data) throw new Error('--data REQUEST.json is required');

const prefetch = JSON.parse(fs.readFileSync(args.data, 'utf8')).prefetch;
const emptyBundle = { resourceType: 'Bundle', type: 'searchset', total: 0, entry: [] };
const bodies = {
  Patient: JSON.stringify(prefetch.patient),
  MedicationRequest: JSON.stringify(prefetch.medications ?? emptyBundle),
  MedicationStatement: JSON.stringify(prefetch.medicationStatements ?? emptyBundle),
  Condition: JSON.stringify(prefetch.conditions ?? emptyBundle),
  Observation: JSON.stringify(prefetch.observations ?? emptyBundle),
};
const notFound = JSON.stringify({
  resourceType: 'OperationOutcome',
  issue: [{ severity: 'error', code: 'not-found', diagnostics: 'unknown resource' }],
});

let requests = 0;
let inflight = 0;
let inflightMax = 0;
let connections = 0;

function route(pathname) {
  const parts = pathname.split('/').filter((p) => p.length > 0);
  // .../Patient/<id> (read) or .../<Type> (search)
  if (parts.length >= 2 && parts[parts.length - 2] === 'Patient') return bodies.Patient;
  const type = parts[parts.length - 1];
  if (type !== 'Patient' && Object.hasOwn(bodies, type)) return bodies[type];
  return null;
}

const server = http.createServer((req, res) => {
  const url = new URL(req.url, 'http://127.0.0.1');
  if (url.pathname === '/_bench/stats') {
    const body = JSON.stringify({ requests, connections, inflightMax });
    requests = 0;
    connections = 0;
    inflightMax = 0;
    res.writeHead(200, { 'Content-Type': 'application/json', 'Content-Length': Buffer.byteLength(body) });
    res.end(body);
    return;
  }
  requests++;
  inflight++;
  if (inflight > inflightMax) inflightMax = inflight;
  const body = req.method === 'GET' ? route(url.pathname) : null;
  req.resume();
  setTimeout(() => {
    inflight--;
    const status = body === null ? 404 : 200;
    const text = body ?? notFound;
    res.writeHead(status, {
      'Content-Type': 'application/fhir+json',
      'Content-Length': Buffer.byteLength(text),
    });
    res.end(text);
  }, args.delayMs);
});
server.keepAliveTimeout = 30000;
server.maxRequestsPerSocket = 0;

const sockets = new Set();
server.on('connection', (socket) => {
  connections++;
  sockets.add(socket);
  socket.on('close', () => sockets.delete(socket));
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
