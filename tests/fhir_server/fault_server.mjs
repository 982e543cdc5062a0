// A fault-injecting "FHIR server" for magcds's failure tests.
//
//   node fault_server.mjs --port N [--max-seconds S]
//
// The first path segment of the base URL chooses the behaviour; the FHIR path
// follows it (base http://127.0.0.1:N/delay-100 -> GET /delay-100/Observation?...):
//   ok             a valid, empty answer: searches get an empty searchset
//                  Bundle, reads "Type/id" get {"resourceType": Type, "id": id}
//   delay-<ms>     the same after <ms> milliseconds (a fixed delay per query)
//   never          accepts the request and never answers (the socket stays
//                  open until the client gives up or the server exits)
//   drip           200 and headers at once, then the body one byte per 50 ms
//   status-<code>  that HTTP status with an OperationOutcome body
//   garbage        200 application/fhir+json whose body is not JSON
//   nonfhir        200 application/json that is JSON but not FHIR
//   html           200 text/html
//   reset          the connection is reset without an answer
//   oo             200 with an OperationOutcome
//   bundle-oo      200 with a searchset Bundle holding an OperationOutcome
//   wrong-type     200 with a resource of another type (Patient for searches,
//                  Observation for reads)
//   big-<bytes>    200 with a valid searchset padded to about <bytes> bytes
//   stale          answers like ok with keep-alive, then closes the idle
//                  connection 20 ms later (a stale keep-alive for the client)
//   redirect-<code>-<port>  that 3xx status with Location
//                  http://127.0.0.1:<port>/<the rest of the path and query>
//                  (issue #12: a redirect to another origin)
//   lowmg-<patient> 200 with a searchset Bundle holding one final serum
//                  magnesium of 0.40 mmol/L (2026-11-10) whose subject is
//                  Patient/<patient> (issue #12: another patient's data)
// Test-only endpoints:
//   GET  /_test/stats   {requests, connections, inflight, inflightMax, urls, authorizations}
//   POST /_test/reset   zero the counters
// See lifecycle.mjs for start-up ("LISTENING <port>") and shutdown.

import { operationOutcome, parseArgs, sendJson, serve } from './lifecycle.mjs';

const args = parseArgs(process.argv);
const stats = { requests: 0, connections: 0, inflight: 0, inflightMax: 0, urls: [], authorizations: [] };
const timers = new Set();

function later(ms, fn) {
  const timer = setTimeout(() => {
    timers.delete(timer);
    fn();
  }, ms);
  timers.add(timer);
}

function validAnswer(type, id) {
  if (id !== undefined) return { resourceType: type, id };
  return { resourceType: 'Bundle', type: 'searchset', total: 0 };
}

function handle(req, res) {
  const url = new URL(req.url, 'http://127.0.0.1');
  if (url.pathname === '/_test/stats') return sendJson(res, 200, stats, 'application/json');
  if (url.pathname === '/_test/reset') {
    Object.assign(stats, { requests: 0, connections: 0, inflightMax: stats.inflight, urls: [],
      authorizations: [] });
    return sendJson(res, 200, {}, 'application/json');
  }
  stats.requests++;
  stats.urls.push(req.url);
  stats.authorizations.push(req.headers.authorization ?? '');
  stats.inflight++;
  stats.inflightMax = Math.max(stats.inflightMax, stats.inflight);
  let counted = true;
  const done = () => {
    if (counted) {
      counted = false;
      stats.inflight--;
    }
  };
  res.on('close', done);

  const [mode, type, id] = url.pathname.split('/').filter((s) => s.length > 0);
  const answer = validAnswer(type ?? 'Bundle', id);
  if (mode === 'ok') return sendJson(res, 200, answer);
  if (mode?.startsWith('delay-')) {
    return later(Number(mode.slice(6)), () => sendJson(res, 200, answer));
  }
  switch (mode) {
    case 'never':
      return undefined;  // the socket is destroyed when the client closes it or we exit
    case 'drip': {
      const body = JSON.stringify(answer);
      res.writeHead(200, { 'Content-Type': 'application/fhir+json',
        'Content-Length': Buffer.byteLength(body) });
      let i = 0;
      const tick = () => {
        if (res.destroyed || i >= body.length) {
          if (!res.destroyed) res.end();
          return;
        }
        res.write(body[i++]);
        later(50, tick);
      };
      return tick();
    }
    case 'garbage':
      return sendJson(res, 200, '<<< this is not JSON', 'application/fhir+json');
    case 'nonfhir':
      return sendJson(res, 200, { hello: 'world' }, 'application/json');
    case 'html':
      return sendJson(res, 200, '<html><body>Login</body></html>', 'text/html');
    case 'reset':
      return req.socket.resetAndDestroy();
    case 'oo':
      return sendJson(res, 200, operationOutcome('processing', 'could not run the query'));
    case 'bundle-oo':
      return sendJson(res, 200, {
        resourceType: 'Bundle',
        type: 'searchset',
        entry: [{ resource: operationOutcome('processing', 'partial failure'),
          search: { mode: 'outcome' } }],
      });
    case 'wrong-type':
      return sendJson(res, 200, id === undefined ? { resourceType: 'Patient', id: 'x' }
        : { resourceType: 'Observation', id, status: 'final', code: { text: 'x' } });
    case 'stale': {
      sendJson(res, 200, answer);
      const socket = req.socket;
      return later(20, () => socket.destroy());
    }
    default:
      break;
  }
  if (mode?.startsWith('status-')) {
    return sendJson(res, Number(mode.slice(7)), operationOutcome('exception', 'injected failure'));
  }
  if (mode?.startsWith('redirect-')) {
    const [, code, port] = mode.split('-');
    const rest = req.url.slice(req.url.indexOf(mode) + mode.length);
    res.writeHead(Number(code), { Location: `http://127.0.0.1:${port}${rest}`,
      'Content-Type': 'text/plain', 'Content-Length': 0 });
    return res.end();
  }
  if (mode?.startsWith('lowmg-')) {
    const subject = mode.slice(6);
    const observation = { resourceType: 'Observation', id: `mg-${subject}`, status: 'final',
      category: [{ coding: [{ system: 'http://terminology.hl7.org/CodeSystem/observation-category',
        code: 'laboratory' }] }],
      code: { coding: [{ system: 'http://loinc.org', code: '2601-3',
        display: 'Magnesium [Moles/volume] in Serum or Plasma' }] },
      subject: { reference: `Patient/${subject}` },
      effectiveDateTime: '2026-11-10T07:40:00Z', issued: '2026-11-10T14:05:00Z',
      valueQuantity: { value: 0.4, unit: 'mmol/L', system: 'http://unitsofmeasure.org',
        code: 'mmol/L' } };
    return sendJson(res, 200, { resourceType: 'Bundle', type: 'searchset', total: 1,
      entry: [{ fullUrl: `http://127.0.0.1/Observation/${observation.id}`, resource: observation,
        search: { mode: 'match' } }] });
  }
  if (mode?.startsWith('big-')) {
    const bundle = { resourceType: 'Bundle', type: 'searchset', total: 0,
      meta: { tag: [{ code: 'x'.repeat(Number(mode.slice(4))) }] } };
    return sendJson(res, 200, bundle);
  }
  return sendJson(res, 404, operationOutcome('not-found', 'unknown fault mode'));
}

serve(handle, args, () => {
  stats.connections++;
});
