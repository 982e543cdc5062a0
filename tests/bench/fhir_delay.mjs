// A fixed-delay FHIR R4 server for the fetch-mode benchmark (issue #7).
//
//   node fhir_delay.mjs --data REQUEST.json [--delay-ms 20] [--port 0] [--max-seconds 900]
//                       [--batch yes|no]
//
// Answers every FHIR GET after exactly --delay-ms (a timer, no CPU work), with
// the data of REQUEST.json's prefetch (a CDS Hooks request as written by
// gen_data.py), so fetch mode evaluates the same patient as the prefetch run:
//   GET <any base>/Patient/<id>              -> prefetch.patient
//   GET <any base>/MedicationRequest?...     -> prefetch.medications (searchset)
//   GET <any base>/MedicationStatement?...   -> prefetch.medicationStatements
//   GET <any base>/Condition?...             -> prefetch.conditions
//   GET <any base>/Observation?...           -> prefetch.observations
//   GET <any base>/metadata                  -> CapabilityStatement, declaring the
//                                               batch interaction unless --batch no
//   POST <any base> (a batch Bundle)         -> batch-response, each entry answered as
//                                               the GET above (issue #18); with
//                                               --batch no: 405 OperationOutcome
//   anything else                            -> 404 OperationOutcome (same delay)
// Bodies are serialised once at start. Listens on 127.0.0.1 only; prints
// "LISTENING <port>"; exits on SIGTERM/SIGINT, when stdin closes, and after
// --max-seconds in any case. GET /_bench/stats answers
// without delay: {requests, connections (accepted), inflightMax, batches,
// metadata}, and resets them; GET /_bench/last-batch answers the last batch
// Bundle POSTed (for wrk to send the same one straight to this server).

import fs from 'node:fs';
import http from 'node:http';

const args = { port: 0, delayMs: 20, maxSeconds: 900, data: '', batch: 'yes' };
for (let i = 2; i < process.argv.length; i += 2) {
  const [flag, value] = [process.argv[i], process.argv[i + 1]];
  if (flag === '--port') args.port = Number(value);
  else if (flag === '--delay-ms') args.delayMs = Number(value);
  else if (flag === '--max-seconds') args.maxSeconds = Number(value);
  else if (flag === '--data') args.data = value;
  else if (flag === '--batch') args.batch = value;
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

const capabilityStatement = JSON.stringify({
  resourceType: 'CapabilityStatement',
  status: 'active',
  kind: 'instance',
  fhirVersion: '4.0.1',
  format: ['json'],
  rest: [{ mode: 'server', interaction: args.batch === 'yes' ? [{ code: 'batch' }] : [] }],
});
const notAllowed = JSON.stringify({
  resourceType: 'OperationOutcome',
  issue: [{ severity: 'error', code: 'not-supported', diagnostics: 'batch is not supported' }],
});

// The batch-response for a batch Bundle: each entry's request.url answered as a GET would be.
function batchResponse(text) {
  let bundle;
  try {
    bundle = JSON.parse(text);
  } catch {
    return null;
  }
  if (bundle?.resourceType !== 'Bundle' || bundle.type !== 'batch') return null;
  const entries = (bundle.entry ?? []).map((entry) => {
    const path = new URL(String(entry?.request?.url ?? ''), 'http://127.0.0.1/').pathname;
    const body = entry?.request?.method === 'GET' ? route(path) : null;
    return body === null
      ? `{"response":{"status":"404 Not Found","outcome":${notFound}}}`
      : `{"resource":${body},"response":{"status":"200 OK"}}`;
  });
  return `{"resourceType":"Bundle","type":"batch-response","entry":[${entries.join(',')}]}`;
}

let lastBatch = '';
let batches = 0;
let metadata = 0;
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
    const body = JSON.stringify({ requests, connections, inflightMax, batches, metadata });
    batches = 0;
    metadata = 0;
    requests = 0;
    connections = 0;
    inflightMax = 0;
    res.writeHead(200, { 'Content-Type': 'application/json', 'Content-Length': Buffer.byteLength(body) });
    res.end(body);
    return;
  }
  if (url.pathname === '/_bench/last-batch') {
    res.writeHead(200, { 'Content-Type': 'application/fhir+json', 'Content-Length': Buffer.byteLength(lastBatch) });
    res.end(lastBatch);
    return;
  }
  if (url.pathname.endsWith('/metadata')) {
    metadata++;
    res.writeHead(200, {
      'Content-Type': 'application/fhir+json',
      'Content-Length': Buffer.byteLength(capabilityStatement),
    });
    res.end(capabilityStatement);
    return;
  }
  requests++;
  inflight++;
  if (inflight > inflightMax) inflightMax = inflight;
  const chunks = [];
  req.on('data', (chunk) => chunks.push(chunk));
  req.on('end', () => answer(req, res, Buffer.concat(chunks).toString('utf8'), url));
});

function answer(req, res, requestBody, url) {
  let body = null;
  let status = 404;
  if (req.method === 'GET') {
    body = route(url.pathname);
    status = body === null ? 404 : 200;
  } else if (req.method === 'POST' && args.batch === 'yes') {
    batches++;
    lastBatch = requestBody;
    body = batchResponse(requestBody);
    status = body === null ? 400 : 200;
  } else if (req.method === 'POST') {
    status = 405;
  }
  setTimeout(() => {
    inflight--;
    const text = body ?? (status === 405 ? notAllowed : notFound);
    res.writeHead(status, {
      'Content-Type': 'application/fhir+json',
      'Content-Length': Buffer.byteLength(text),
    });
    res.end(text);
  }, args.delayMs);
}
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
