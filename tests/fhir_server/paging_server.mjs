// A tiny FHIR server that pages: every search answer is a searchset Bundle of
// at most --page-size entries (default 1) with a `next` link while more remain.
// medplum's memory repository never pages, so magcds's `next` handling is
// tested against this one.
//
//   node paging_server.mjs --port N [--page-size K] [--data bundle.json]
//                          [--foreign-next URL] [--max-seconds S]
//
// The first path segment of the base chooses the scenario; the FHIR path
// follows it, e.g. base http://127.0.0.1:N/pages, query /pages/Condition?patient=p1:
//   pages          the data's resources of the searched type, page by page
//                  (other search parameters are ignored); reads by id work too
//   endless        a `next` link on every page, forever (one synthetic entry
//                  per page): only the client's caps stop it
//   foreign-next   page 1 links `next` to --foreign-next (another origin)
//   fail-page-2    like pages, but page 2 and later answer 500
// Test-only endpoints:
//   POST /_test/data     replace the data with a Bundle's entries
//   GET  /_test/requests the URLs requested so far;  POST /_test/reset forgets them
// See lifecycle.mjs for start-up ("LISTENING <port>") and shutdown.

import fs from 'node:fs';

import { operationOutcome, parseArgs, readBody, sendJson, serve } from './lifecycle.mjs';

const args = parseArgs(process.argv);
const pageSize = Number(args['page-size'] ?? 1);
let resources = [];
if (args.data) resources = entriesOf(JSON.parse(fs.readFileSync(args.data, 'utf8')));
const requests = [];

function entriesOf(bundle) {
  return (bundle.entry ?? []).map((e) => e.resource).filter((r) => r && r.resourceType);
}

function searchset(base, type, search, page, entries, hasNext) {
  const bundle = { resourceType: 'Bundle', type: 'searchset', entry: entries.map((resource) => ({
    fullUrl: `${base}/${resource.resourceType}/${resource.id}`,
    resource,
    search: { mode: 'match' },
  })) };
  if (hasNext) {
    const params = new URLSearchParams(search);
    params.set('_page', String(page + 1));
    bundle.link = [{ relation: 'next', url: `${base}/${type}?${params.toString()}` }];
  }
  return bundle;
}

async function handle(req, res) {
  const url = new URL(req.url, 'http://127.0.0.1');
  if (url.pathname === '/_test/requests') return sendJson(res, 200, requests, 'application/json');
  if (url.pathname === '/_test/reset') {
    requests.length = 0;
    return sendJson(res, 200, {}, 'application/json');
  }
  if (url.pathname === '/_test/data') {
    resources = entriesOf(JSON.parse(await readBody(req)));
    return sendJson(res, 200, { count: resources.length }, 'application/json');
  }
  requests.push(req.url);
  const segments = url.pathname.split('/').filter((s) => s.length > 0);
  const [scenario, type, id] = segments;
  // Links name the address actually served (not the Host header, which a
  // test client may send without the port).
  const base = `http://127.0.0.1:${req.socket.localPort}/${scenario}`;
  if (!type) return sendJson(res, 404, operationOutcome('not-found', 'no resource type'));
  if (id !== undefined) {
    const found = resources.find((r) => r.resourceType === type && r.id === id);
    return found
      ? sendJson(res, 200, found)
      : sendJson(res, 404, operationOutcome('not-found', 'no such resource'));
  }
  const page = Number(url.searchParams.get('_page') ?? 1);
  const search = new URLSearchParams(url.searchParams);
  search.delete('_page');
  switch (scenario) {
    case 'endless': {
      const entry = { resourceType: type, id: `endless-${page}` };
      return sendJson(res, 200, searchset(base, type, search, page, [entry], true));
    }
    case 'foreign-next': {
      const bundle = searchset(base, type, search, page, [], false);
      bundle.link = [{ relation: 'next', url: args['foreign-next'] }];
      return sendJson(res, 200, bundle);
    }
    case 'pages':
    case 'fail-page-2': {
      if (scenario === 'fail-page-2' && page >= 2) {
        return sendJson(res, 500, operationOutcome('exception', 'page 2 fails'));
      }
      const matching = resources.filter((r) => r.resourceType === type);
      const slice = matching.slice((page - 1) * pageSize, page * pageSize);
      const hasNext = page * pageSize < matching.length;
      return sendJson(res, 200, searchset(base, type, search, page, slice, hasNext));
    }
    default:
      return sendJson(res, 404, operationOutcome('not-found', 'unknown scenario'));
  }
}

serve((req, res) => {
  handle(req, res).catch((err) => {
    sendJson(res, 500, operationOutcome('exception', String(err?.message ?? err)));
  });
}, args);
