'use strict';
// Drives test/emulator/emulator.py with Google's official Node.js clients, so
// the emulator's wire format is checked by the same code that talks to the
// real APIs. Run with `node --test` in this folder (see ../run_conformance.sh).

const {test, before, after} = require('node:test');
const assert = require('node:assert/strict');
const {spawn} = require('node:child_process');
const crypto = require('node:crypto');
const fs = require('node:fs');
const os = require('node:os');
const path = require('node:path');

const {JWT, UserRefreshClient, Compute} = require('google-auth-library');
const {run} = require('@googleapis/run');
const {iam} = require('@googleapis/iam');
const {Storage} = require('@google-cloud/storage');

const EMULATOR = path.join(__dirname, '..', 'emulator.py');
const PARENT = 'projects/p/locations/europe-west1';
const SVC = `${PARENT}/services/api`;
const JOB = `${PARENT}/jobs/nightly`;
const SA = 'runner@p.iam.gserviceaccount.com';
const SA2 = 'deployer@p.iam.gserviceaccount.com';
const COND = {
  title: 'expires',
  expression: "request.time < timestamp('2030-01-01T00:00:00Z')",
};
const GOOGLE_TOKEN_URL = 'https://oauth2.googleapis.com/token';
const SCOPES = ['https://www.googleapis.com/auth/cloud-platform'];

let proc;
let base;
let key;
let jwt;
let runClient;
let iamClient;

function seed() {
  const services = [
    {
      name: SVC,
      template: {serviceAccount: SA},
      policy: {
        bindings: [
          {role: 'roles/run.invoker', members: ['user:a@example.com']},
          {role: 'roles/run.admin', members: ['user:b@example.com'], condition: COND},
        ],
      },
    },
  ];
  for (let i = 0; i < 11; i++) services.push({name: `${PARENT}/services/svc-${i}`});
  return {
    services,
    jobs: [{name: JOB, template: {template: {serviceAccount: SA}}}],
    serviceAccounts: [{email: SA}, {email: SA2}, {email: 'third@p.iam.gserviceaccount.com'}],
    buckets: {b: {objects: {'apps/a.yaml': 'kind: App\n', 'apps/b.yaml': 'kind: App\n'}}},
    page_size_max: 5,
  };
}

function startEmulator(seedFile) {
  return new Promise((resolve, reject) => {
    const python = process.env.PYTHON || 'python3';
    proc = spawn(python, [EMULATOR, '--seed', seedFile, '--port', '0'], {
      stdio: ['ignore', 'pipe', 'inherit'],
    });
    let out = '';
    const timer = setTimeout(() => reject(new Error('emulator did not start')), 15000);
    proc.on('error', reject);
    proc.on('exit', code => reject(new Error(`emulator exited early (${code})`)));
    proc.stdout.on('data', chunk => {
      out += chunk.toString();
      const m = /listening on 127\.0\.0\.1:(\d+)/.exec(out);
      if (m) {
        clearTimeout(timer);
        proc.removeAllListeners('exit');
        resolve(Number(m[1]));
      }
    });
  });
}

async function control(method, p, body) {
  const res = await fetch(`${base}/_emulator/${p}`, {
    method,
    headers: body ? {'Content-Type': 'application/json'} : {},
    body: body ? JSON.stringify(body) : undefined,
  });
  assert.equal(res.status, 200, `${method} /_emulator/${p}`);
  return res.json();
}

// A service-account key file as Google issues it, but with a fresh RSA key and
// token_uri pointing at the emulator.
function makeKeyFile(tokenUri) {
  const {privateKey} = crypto.generateKeyPairSync('rsa', {
    modulusLength: 2048,
    privateKeyEncoding: {type: 'pkcs8', format: 'pem'},
    publicKeyEncoding: {type: 'spki', format: 'pem'},
  });
  return {
    type: 'service_account',
    project_id: 'p',
    private_key_id: crypto.randomBytes(20).toString('hex'),
    private_key: privateKey,
    client_email: SA,
    client_id: '1234567890',
    token_uri: tokenUri,
  };
}

// google-auth-library always posts the JWT grant to the fixed production URL
// (it ignores the key file's token_uri); send that one request to the
// key's token_uri instead. The grant itself is built and parsed by the library.
function useKeyTokenUri(client, tokenUri) {
  client.transporter.interceptors.request.add({
    resolved: async config => {
      const url = config.url instanceof URL ? config.url.href : String(config.url);
      if (url === GOOGLE_TOKEN_URL) config.url = new URL(tokenUri);
      return config;
    },
  });
}

function httpStatus(err) {
  return Number(err.status ?? err.code ?? err.response?.status);
}

before(async () => {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'roam-emu-conf-'));
  const seedFile = path.join(dir, 'seed.json');
  fs.writeFileSync(seedFile, JSON.stringify(seed()));
  const port = await startEmulator(seedFile);
  base = `http://127.0.0.1:${port}`;
  key = makeKeyFile(`${base}/token`);
  fs.writeFileSync(path.join(dir, 'key.json'), JSON.stringify(key));
  jwt = new JWT({
    email: key.client_email,
    key: key.private_key,
    keyId: key.private_key_id,
    scopes: SCOPES,
  });
  useKeyTokenUri(jwt, key.token_uri);
  runClient = run({version: 'v2', auth: jwt, rootUrl: `${base}/`});
  iamClient = iam({version: 'v1', auth: jwt, rootUrl: `${base}/`});
});

after(async () => {
  if (proc && proc.exitCode === null) {
    const exited = new Promise(resolve => proc.once('exit', resolve));
    proc.kill('SIGTERM');
    await exited;
  }
});

test('auth library mints a token through the emulator token endpoint', async () => {
  await control('DELETE', 'log');
  const {token} = await jwt.getAccessToken();
  assert.match(token, /^ya29\./);
  const log = await control('GET', 'log');
  const tokenCalls = log.filter(e => e.path === '/token');
  assert.equal(tokenCalls.length, 1);
  assert.equal(tokenCalls[0].status, 200);
  assert.equal(tokenCalls[0].body.grant_type, 'urn:ietf:params:oauth:grant-type:jwt-bearer');
  assert.equal(tokenCalls[0].body.assertion, '<redacted>');
  assert.ok(!JSON.stringify(log).includes(token), 'token never logged');
});

test('refresh-token credentials work against the emulator', async () => {
  const client = new UserRefreshClient({
    clientId: 'cid.apps.googleusercontent.com',
    clientSecret: 'secret',
    refreshToken: '1//refresh',
    endpoints: {oauth2TokenUrl: `${base}/token`},
  });
  const {token} = await client.getAccessToken();
  const r = await run({version: 'v2', auth: client, rootUrl: `${base}/`})
    .projects.locations.services.get({name: SVC});
  assert.equal(r.data.name, SVC);
  assert.ok(token);
});

test('metadata server credentials (GCE_METADATA_HOST)', async () => {
  process.env.GCE_METADATA_HOST = base.replace('http://', '');
  try {
    const compute = new Compute();
    const {token} = await compute.getAccessToken();
    assert.match(token, /^ya29\./);
    const r = await run({version: 'v2', auth: compute, rootUrl: `${base}/`})
      .projects.locations.services.get({name: SVC});
    assert.equal(r.data.template.serviceAccount, SA);
  } finally {
    delete process.env.GCE_METADATA_HOST;
  }
});

test('run: list services with pagination, newest first', async () => {
  const names = [];
  let pageToken;
  let pages = 0;
  do {
    const r = await runClient.projects.locations.services.list({
      parent: PARENT,
      pageSize: 4,
      pageToken,
    });
    pages++;
    names.push(...r.data.services.map(s => s.name));
    pageToken = r.data.nextPageToken;
  } while (pageToken);
  assert.equal(names.length, 12);
  assert.equal(pages, 3);
  assert.equal(names[0], `${PARENT}/services/svc-10`);
  assert.equal(names[11], SVC);
  // server-side page size cap (page_size_max = 5) also paginates
  const r = await runClient.projects.locations.services.list({parent: PARENT});
  assert.equal(r.data.services.length, 5);
  assert.ok(r.data.nextPageToken);
  const empty = await runClient.projects.locations.services.list({
    parent: 'projects/p/locations/us-east1',
  });
  assert.equal(empty.data.services, undefined);
});

test('run: get service and job', async () => {
  const s = await runClient.projects.locations.services.get({name: SVC});
  assert.equal(s.data.template.serviceAccount, SA);
  assert.equal(typeof s.data.generation, 'string');
  const j = await runClient.projects.locations.jobs.get({name: JOB});
  assert.equal(j.data.template.template.serviceAccount, SA);
  await assert.rejects(
    runClient.projects.locations.services.get({name: `${PARENT}/services/nope`}),
    err => httpStatus(err) === 404,
  );
});

test('run: IAM read-modify-write, 409 race, _withcond_ rendering', async () => {
  const services = runClient.projects.locations.services;
  const got = await services.getIamPolicy({
    resource: SVC,
    'options.requestedPolicyVersion': 3,
  });
  const policy = got.data;
  assert.equal(policy.version, 3);
  assert.ok(policy.bindings.some(b => b.condition && b.condition.title === 'expires'));

  const v1 = await services.getIamPolicy({resource: SVC, 'options.requestedPolicyVersion': 1});
  assert.equal(v1.data.version, 1);
  assert.ok(v1.data.bindings.some(b => /^roles\/run\.admin_withcond_[0-9a-f]{20}$/.test(b.role)));
  assert.ok(v1.data.bindings.every(b => !b.condition));

  const desired = {
    ...policy,
    bindings: [
      ...policy.bindings,
      {role: 'roles/run.invoker', members: ['serviceAccount:pusher@p.iam.gserviceaccount.com']},
    ],
  };
  const set = await services.setIamPolicy({resource: SVC, requestBody: {policy: desired}});
  assert.notEqual(set.data.etag, policy.etag);
  assert.equal(set.data.version, 3);

  // the same etag again is now stale
  await assert.rejects(
    services.setIamPolicy({resource: SVC, requestBody: {policy: desired}}),
    err => {
      assert.equal(err.code, 409);
      assert.equal(httpStatus(err), 409);
      assert.equal(err.response.data.error.status, 'ABORTED');
      return true;
    },
  );

  // a concurrent writer between read and write (fault injection) -> 409
  const fresh = (await services.getIamPolicy({resource: SVC, 'options.requestedPolicyVersion': 3}))
    .data;
  await control('POST', 'faults', [
    {
      match: {method: 'POST', path_regex: ':setIamPolicy$'},
      count: 1,
      action: {concurrent_change: {add: {role: 'roles/run.viewer', member: 'user:x@example.com'}}},
    },
  ]);
  await assert.rejects(
    services.setIamPolicy({resource: SVC, requestBody: {policy: fresh}}),
    err => httpStatus(err) === 409,
  );
});

test('run: writing a _withcond_ role or conditions on a job is rejected', async () => {
  const services = runClient.projects.locations.services;
  const v1 = (await services.getIamPolicy({resource: SVC, 'options.requestedPolicyVersion': 1}))
    .data;
  await assert.rejects(
    services.setIamPolicy({resource: SVC, requestBody: {policy: v1}}),
    err => httpStatus(err) === 400,
  );
  const jobs = runClient.projects.locations.jobs;
  const jp = (await jobs.getIamPolicy({resource: JOB, 'options.requestedPolicyVersion': 3})).data;
  await assert.rejects(
    jobs.setIamPolicy({
      resource: JOB,
      requestBody: {
        policy: {
          ...jp,
          version: 3,
          bindings: [{role: 'roles/run.invoker', members: ['allUsers'], condition: COND}],
        },
      },
    }),
    err => httpStatus(err) === 400,
  );
});

test('run: patch template.serviceAccount returns a done operation', async () => {
  const r = await runClient.projects.locations.services.patch({
    name: SVC,
    updateMask: 'template.serviceAccount',
    requestBody: {template: {serviceAccount: SA2}},
  });
  assert.equal(r.data.done, true);
  assert.equal(r.data.response.template.serviceAccount, SA2);
  const s = await runClient.projects.locations.services.get({name: SVC});
  assert.equal(s.data.template.serviceAccount, SA2);
  const t = await runClient.projects.locations.services.testIamPermissions({
    resource: SVC,
    requestBody: {permissions: ['run.services.get', 'run.services.setIamPolicy']},
  });
  assert.deepEqual(t.data.permissions, ['run.services.get', 'run.services.setIamPolicy']);
});

test('iam: service account list/get/getIamPolicy/setIamPolicy', async () => {
  const sas = iamClient.projects.serviceAccounts;
  const page1 = await sas.list({name: 'projects/p', pageSize: 2});
  assert.equal(page1.data.accounts.length, 2);
  const page2 = await sas.list({name: 'projects/p', pageSize: 2, pageToken: page1.data.nextPageToken});
  assert.equal(page2.data.accounts.length, 1);
  assert.equal(page2.data.nextPageToken, undefined);

  const name = `projects/p/serviceAccounts/${SA2}`;
  const acc = await sas.get({name});
  assert.equal(acc.data.email, SA2);
  const pol = await sas.getIamPolicy({resource: name, 'options.requestedPolicyVersion': 3});
  assert.equal(pol.data.version, 1);
  const set = await sas.setIamPolicy({
    resource: name,
    requestBody: {
      policy: {
        ...pol.data,
        version: 3,
        bindings: [
          {role: 'roles/iam.serviceAccountUser', members: ['user:e@example.com'], condition: COND},
        ],
      },
    },
  });
  assert.notEqual(set.data.etag, pol.data.etag);
  const v1 = await sas.getIamPolicy({resource: name, 'options.requestedPolicyVersion': 1});
  assert.match(v1.data.bindings[0].role, /_withcond_[0-9a-f]{20}$/);
  await assert.rejects(
    sas.setIamPolicy({resource: name, requestBody: {policy: pol.data}}),
    err => httpStatus(err) === 409,
  );
  await assert.rejects(
    sas.setIamPolicy({
      resource: name,
      requestBody: {policy: {etag: set.data.etag, bindings: [{role: 'roles/x', members: ['bob']}]}},
    }),
    err => httpStatus(err) === 400,
  );
});

test('storage: upload, list, download, 412, delete (apiEndpoint, no credentials)', async () => {
  const storage = new Storage({apiEndpoint: base, projectId: 'p'});
  const bucket = storage.bucket('b');
  const file = bucket.file('locks/lease.json');
  await file.save('{"holder":"a"}', {
    resumable: false,
    contentType: 'application/json',
    preconditionOpts: {ifGenerationMatch: 0},
  });
  const gen = file.metadata.generation;
  assert.match(String(gen), /^\d+$/);

  await assert.rejects(
    bucket.file('locks/lease.json').save('{"holder":"b"}', {
      resumable: false,
      preconditionOpts: {ifGenerationMatch: 0},
    }),
    err => httpStatus(err) === 412,
  );

  const [all] = await bucket.getFiles();
  assert.deepEqual(all.map(f => f.name), ['apps/a.yaml', 'apps/b.yaml', 'locks/lease.json']);
  const [apps] = await bucket.getFiles({prefix: 'apps/'});
  assert.equal(apps.length, 2);
  const [page, next] = await bucket.getFiles({maxResults: 1, autoPaginate: false});
  assert.equal(page.length, 1);
  assert.ok(next && next.pageToken);

  const [content] = await bucket.file('locks/lease.json').download();
  assert.equal(content.toString(), '{"holder":"a"}');

  await assert.rejects(
    bucket.file('locks/lease.json').delete({ifGenerationMatch: Number(gen) + 1}),
    err => httpStatus(err) === 412,
  );
  await bucket.file('locks/lease.json').delete({ifGenerationMatch: gen});
  const [exists] = await bucket.file('locks/lease.json').exists();
  assert.equal(exists, false);
});

test('storage: authenticated client (useAuthWithCustomEndpoint)', async () => {
  await control('DELETE', 'log');
  // @google-cloud/storage 7 bundles google-auth-library 9, whose GoogleAuth
  // expects getRequestHeaders() to return a plain object (version 10 returns
  // a Headers instance); adapt the shared JWT client to that interface.
  const authClient = {
    universeDomain: 'googleapis.com',
    async getRequestHeaders(url) {
      return Object.fromEntries((await jwt.getRequestHeaders(url)).entries());
    },
    getAccessToken: () => jwt.getAccessToken(),
    getProjectId: async () => 'p',
  };
  const storage = new Storage({
    apiEndpoint: base,
    projectId: 'p',
    authClient,
    useAuthWithCustomEndpoint: true,
  });
  const [files] = await storage.bucket('b').getFiles({prefix: 'apps/'});
  assert.equal(files.length, 2);
  const log = await control('GET', 'log');
  const listing = log.filter(e => e.path === '/storage/v1/b/b/o');
  assert.equal(listing.length, 1);
  assert.equal(listing[0].auth, true);
  assert.equal(listing[0].auth_valid, true);
});
