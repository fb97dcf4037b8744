#!/usr/bin/env node
// benchd.js - a small, fast stand-in for the Cloud Run IAM paths, for the
// benchmark only (test/bench/bench.py, `make bench`).  The Python emulator
// (test/emulator/) is the reference for behaviour; it answers about 600
// requests a second at 32 connections, while a 10,000-service pass at 32 in
// flight and 10 ms of injected latency needs 3,200, so the benchmark would
// measure the emulator instead of roam.  This server serves the same paths with the same
// JSON shapes and etag semantics, from one Node.js process with keep-alive:
//
//   GET  /v2/projects/P/locations/R/services/S:getIamPolicy   (also /v1, jobs)
//   POST /v2/projects/P/locations/R/services/S:setIamPolicy   etag mismatch -> 409 ABORTED
//   GET  /v2/projects/P/locations/R/services/S                services.get
//   POST /v1/projects/P/serviceAccounts/E:getIamPolicy, :setIamPolicy; GET .../E
//   GET  /computeMetadata/v1/instance/service-accounts/default/token (Metadata-Flavor)
//
// Every Google-API request waits latency_ms before it is answered (a timer,
// no CPU).  Control, no latency, not counted:
//   GET /_bench/stats          {"requests": {"GET getIamPolicy 200": n, ...},
//                               "max_inflight": n, "first_ms": epoch ms of the
//                               first counted request (fractional), "first_api_ms",
//                               "last_ms": when the last answer was sent}
//   DELETE /_bench/stats       reset the counters
//   POST /_bench/seed          the emulator's seed format (services, jobs,
//                              serviceAccounts with policy), replaces everything
//   POST /_bench/config        {"latency_ms": n}
//   GET /_bench/policy?resource=NAME   the stored policy
//   POST /_bench/policy        {"resource", "policy"}: set out of band (new etag)
//   GET /_bench/policies       every stored policy
//   GET /_bench/writes         [{"resource", "ms"}]: when each setIamPolicy
//                              arrived (epoch ms, fractional; the last 10,000)
//
// What it does not do: validate members, roles or conditions, version-1
// renderings of conditional policies, Storage, pagination, auth beyond the
// presence of a bearer token.
//
//   node benchd.js [--port 0] [--port-file F] [--seed F] [--latency-ms N]
'use strict';
const http = require('http');
const fs = require('fs');
const crypto = require('crypto');
const {performance} = require('perf_hooks');

const args = process.argv.slice(2);
function opt(name, dflt) {
  const i = args.indexOf(name);
  return i >= 0 && i + 1 < args.length ? args[i + 1] : dflt;
}

let latencyMs = Number(opt('--latency-ms', '0'));
const policies = new Map(); // resource -> {bindings, auditConfigs, etag}
const resources = new Map(); // resource -> service/job JSON
let counts = Object.create(null);
let inflight = 0;
let maxInflight = 0;
let firstMs = 0;
let firstApiMs = 0;
let lastMs = 0;
let writes = [];

function now() {
  return performance.timeOrigin + performance.now();
}

function newEtag() {
  return crypto.randomBytes(8).toString('base64');
}

function normalize(bindings) {
  const out = [];
  const byKey = new Map();
  for (const b of bindings || []) {
    if (!b || typeof b.role !== 'string' || !Array.isArray(b.members)) continue;
    const key = b.role + '\u0000' + (b.condition ? JSON.stringify(b.condition) : '');
    let e = byKey.get(key);
    if (!e) {
      e = {role: b.role, members: []};
      if (b.condition) e.condition = b.condition;
      byKey.set(key, e);
      out.push(e);
    }
    for (const m of b.members) if (!e.members.includes(m)) e.members.push(m);
  }
  return out.filter((b) => b.members.length > 0);
}

function render(p) {
  const out = {version: p.bindings.some((b) => b.condition) ? 3 : 1, etag: p.etag};
  if (p.bindings.length) out.bindings = p.bindings;
  if (p.auditConfigs && p.auditConfigs.length) out.auditConfigs = p.auditConfigs;
  return out;
}

// The JSON text of a policy, kept until the policy changes (reads dominate).
function renderedBody(p) {
  if (p.body === undefined || p.bodyEtag !== p.etag) {
    p.body = Buffer.from(JSON.stringify(render(p)));
    p.bodyEtag = p.etag;
  }
  return p.body;
}

function seed(s) {
  policies.clear();
  resources.clear();
  const add = (name, body, pol) => {
    resources.set(name, body);
    policies.set(name, {
      bindings: normalize(pol && pol.bindings),
      auditConfigs: (pol && pol.auditConfigs) || [],
      etag: (pol && pol.etag) || newEtag(),
    });
  };
  for (const e of s.services || []) {
    const body = {name: e.name, uid: crypto.createHash('md5').update(e.name).digest('hex'),
      generation: '1', template: Object.assign({containers: [{image: 'us-docker.pkg.dev/cloudrun/container/hello'}]}, e.template || {})};
    add(e.name, body, e.policy);
  }
  for (const e of s.jobs || []) add(e.name, {name: e.name, template: e.template || {template: {}}}, e.policy);
  for (const e of s.serviceAccounts || []) {
    const project = e.projectId || (e.email.split('@')[1] || '').split('.')[0];
    const name = `projects/${project}/serviceAccounts/${e.email}`;
    add(name, {name, email: e.email, projectId: project,
      uniqueId: String(BigInt('0x' + crypto.createHash('md5').update(e.email).digest('hex').slice(0, 15)))}, e.policy);
  }
}

function rpcError(code, status, message) {
  return {error: {code, message, status}};
}

function send(res, code, obj, headers) {
  const body = Buffer.isBuffer(obj) ? obj : Buffer.from(JSON.stringify(obj));
  res.writeHead(code, Object.assign({'Content-Type': 'application/json; charset=UTF-8',
    'Content-Length': body.length}, headers || {}));
  res.end(body);
}

// The resource name and method of an API path, or null.
const API_RE = /^\/v[12]\/(projects\/[^/]+\/(?:locations\/[^/]+\/(?:services|jobs)\/[^/:]+|serviceAccounts\/[^/:]+))(?::(getIamPolicy|setIamPolicy|testIamPermissions))?$/;

function apiRoute(path) {
  const m = API_RE.exec(path);
  if (!m) return null;
  return {resource: decodeURIComponent(m[1]), verb: m[2] || 'get'};
}

function handleApi(req, res, url, body) {
  if (url.pathname === '/computeMetadata/v1/instance/service-accounts/default/token') {
    if (req.headers['metadata-flavor'] !== 'Google') return [403, {error: 'missing Metadata-Flavor'}, 'token'];
    return [200, {access_token: 'ya29.bench-' + newEtag(), expires_in: 3599, token_type: 'Bearer'}, 'token'];
  }
  const r = apiRoute(url.pathname);
  if (!r) return [404, rpcError(404, 'NOT_FOUND', 'unknown path ' + url.pathname), 'unknown'];
  if (!/^Bearer \S+/.test(req.headers.authorization || '')) {
    return [401, rpcError(401, 'UNAUTHENTICATED', 'Request is missing required authentication credential.'), r.verb];
  }
  const pol = policies.get(r.resource);
  if (!pol) return [404, rpcError(404, 'NOT_FOUND', `Resource '${r.resource}' was not found`), r.verb];
  if (r.verb === 'get') {
    if (req.method !== 'GET') return [405, rpcError(405, 'UNIMPLEMENTED', 'method not allowed'), r.verb];
    return [200, resources.get(r.resource), 'get'];
  }
  if (r.verb === 'getIamPolicy') return [200, renderedBody(pol), r.verb];
  if (r.verb === 'testIamPermissions') {
    let j = {};
    try { j = JSON.parse(body || '{}'); } catch (e) { /* empty */ }
    return [200, {permissions: j.permissions || []}, r.verb];
  }
  if (req.method !== 'POST') return [405, rpcError(405, 'UNIMPLEMENTED', 'method not allowed'), r.verb];
  let j;
  try {
    j = JSON.parse(body);
  } catch (e) {
    return [400, rpcError(400, 'INVALID_ARGUMENT', 'Invalid JSON payload received.'), r.verb];
  }
  const p = j && j.policy;
  if (!p || typeof p !== 'object') return [400, rpcError(400, 'INVALID_ARGUMENT', 'policy is required'), r.verb];
  if (p.etag !== undefined && p.etag !== pol.etag) {
    return [409, rpcError(409, 'ABORTED', 'There were concurrent policy changes. Please retry the whole read-modify-write with exponential backoff.'), r.verb];
  }
  const hasCond = (p.bindings || []).some((b) => b && b.condition);
  if (hasCond && p.version !== 3) {
    return [400, rpcError(400, 'INVALID_ARGUMENT', 'conditions need policy version 3'), r.verb];
  }
  pol.bindings = normalize(p.bindings);
  if (String(j.updateMask || '').split(',').includes('auditConfigs')) pol.auditConfigs = p.auditConfigs || [];
  pol.etag = newEtag();
  return [200, renderedBody(pol), r.verb];
}

function control(req, res, url, body) {
  const p = url.pathname;
  if (p === '/_bench/stats' && req.method === 'GET') {
    return send(res, 200, {requests: counts, max_inflight: maxInflight, first_ms: firstMs, first_api_ms: firstApiMs,
      last_ms: lastMs});
  }
  if (p === '/_bench/stats' && req.method === 'DELETE') {
    counts = Object.create(null);
    maxInflight = 0;
    firstMs = 0;
    firstApiMs = 0;
    lastMs = 0;
    writes = [];
    return send(res, 200, {});
  }
  if (p === '/_bench/seed' && req.method === 'POST') {
    seed(JSON.parse(body));
    return send(res, 200, {resources: policies.size});
  }
  if (p === '/_bench/config' && req.method === 'POST') {
    const c = JSON.parse(body);
    if (c.latency_ms !== undefined) latencyMs = Number(c.latency_ms);
    return send(res, 200, {latency_ms: latencyMs});
  }
  if (p === '/_bench/policy' && req.method === 'POST') {
    const j = JSON.parse(body);
    const pol = policies.get(j.resource);
    if (!pol) return send(res, 404, {});
    pol.bindings = normalize(j.policy.bindings);
    pol.auditConfigs = j.policy.auditConfigs || pol.auditConfigs;
    pol.etag = newEtag();
    return send(res, 200, render(pol));
  }
  if (p === '/_bench/writes') return send(res, 200, writes);
  if (p === '/_bench/policy') {
    const pol = policies.get(url.searchParams.get('resource'));
    return pol ? send(res, 200, render(pol)) : send(res, 404, {});
  }
  if (p === '/_bench/policies') {
    const out = {};
    for (const [k, v] of policies) out[k] = render(v);
    return send(res, 200, out);
  }
  if (p === '/_bench/health') return send(res, 200, {ok: true});
  return send(res, 404, {});
}

const server = http.createServer((req, res) => {
  const chunks = [];
  req.on('data', (c) => chunks.push(c));
  req.on('end', () => {
    const q = req.url.indexOf('?');
    const url = req.url.startsWith('/_bench/') ? new URL(req.url, 'http://x')
      : {pathname: q < 0 ? req.url : req.url.slice(0, q)};
    const body = Buffer.concat(chunks).toString();
    if (url.pathname.startsWith('/_bench/')) return control(req, res, url, body);
    const t = now();
    if (!firstMs) firstMs = t;
    if (!firstApiMs && !url.pathname.startsWith('/computeMetadata/')) firstApiMs = t;
    if (url.pathname.endsWith(':setIamPolicy')) {
      const r = apiRoute(url.pathname);
      writes.push({resource: r ? r.resource : url.pathname, ms: t});
      if (writes.length > 10000) writes.shift();
    }
    inflight++;
    if (inflight > maxInflight) maxInflight = inflight;
    const answer = () => {
      const [code, obj, verb] = handleApi(req, res, url, body);
      const key = `${req.method} ${verb} ${code}`;
      counts[key] = (counts[key] || 0) + 1;
      inflight--;
      lastMs = now();
      send(res, code, obj, url.pathname.startsWith('/computeMetadata/') ? {'Metadata-Flavor': 'Google'} : null);
    };
    if (latencyMs > 0) setTimeout(answer, latencyMs);
    else answer();
  });
});
server.keepAliveTimeout = 60000;
server.headersTimeout = 65000;
server.maxRequestsPerSocket = 0;

const seedFile = opt('--seed', null);
if (seedFile) seed(JSON.parse(fs.readFileSync(seedFile, 'utf8')));

server.listen(Number(opt('--port', '0')), '127.0.0.1', () => {
  const port = server.address().port;
  const pf = opt('--port-file', null);
  if (pf) {
    fs.writeFileSync(pf + '.tmp', String(port));
    fs.renameSync(pf + '.tmp', pf);
  }
  process.stdout.write(`listening on 127.0.0.1:${port}\n`);
});
for (const sig of ['SIGTERM', 'SIGINT']) process.on(sig, () => server.close(() => process.exit(0)) && setTimeout(() => process.exit(0), 200).unref());
