// A StreamerAPI-compatible test cloud and a real OpenID provider, for Gantry's cloud-link tests.
//
// Written from the protocol reference (../../../../../shared/reference/3dprinteros-client.md), not
// from any client's code. Two HTTP servers on 127.0.0.1 with ephemeral ports:
//   - the provider (npm oidc-provider): code + PKCE, the device flow with `interval` and
//     `slow_down` added here, its own login/consent pages (no external resources);
//     Refresh tokens are issued as a stock provider does: only to a client that asks for
//     `offline_access`. Every token it issues is recorded, for the leak checks;
//   - the cloud: /streamerapi/{user_login,printer_login,command,get_queued_jobs,start_queued_job},
//     Gantry's /streamerapi/sso_organisations, /files/<name> with Range, and /control/* for the
//     test to queue commands, inject faults, expire tokens and read what the client sent.
// Prints one JSON line `{"cloud": "http://..", "issuer": "http://.."}` on stdout once both listen.
//
// Options (environment): TEST_CLOUD_DEVICE_INTERVAL (seconds, default 1),
// TEST_CLOUD_DATE_SKEW (seconds added to the cloud's Date header, default 0),
// TEST_CLOUD_DEVICE_TTL (device code lifetime, s), TEST_CLOUD_SLOW_DOWN_ONCE=1,
// TEST_CLOUD_ACCESS_TTL (access token lifetime, s, default 600).

import http from 'node:http';
import crypto from 'node:crypto';
import { createRequire } from 'node:module';

const require = createRequire(new URL('../../../../tests/e2e/package.json', import.meta.url));
const { default: Provider, errors } = await import(require.resolve('oidc-provider'));

const DEVICE_INTERVAL = Number(process.env.TEST_CLOUD_DEVICE_INTERVAL ?? 1);
const DATE_SKEW = Number(process.env.TEST_CLOUD_DATE_SKEW ?? 0);
// Answer the second poll of each device code with `slow_down`, as a busy provider would.
const SLOW_DOWN_ONCE = process.env.TEST_CLOUD_SLOW_DOWN_ONCE === '1';
const slowedDown = new Set();

// Accounts known to both the provider and the cloud. `sso_only` accounts exist at the provider
// but not in the cloud ("SSO user not found").
const ACCOUNTS = [
  { sub: 'u1', email: 'ada@example.test', password: 'correct horse 42', verified: true, groups: ['lab'] },
  { sub: 'u2', email: 'new@example.test', password: 'unverified pw 7', verified: false, groups: ['lab'] },
  { sub: 'u3', email: 'lonely@example.test', password: 'no group pw 9', verified: true, groups: [] },
  { sub: 'u4', email: 'ghost@example.test', password: 'ghost pw 11', verified: true, groups: ['lab'], sso_only: true },
  { sub: 'u5', email: 'grace@example.test', password: 'second user 13', verified: true, groups: ['lab'] },
];
const byEmail = (email) => ACCOUNTS.find((a) => a.email === String(email ?? '').toLowerCase());

const listen = (server) => new Promise((resolve) => server.listen(0, '127.0.0.1', () => resolve(server.address().port)));
const providerServer = http.createServer();
const providerPort = await listen(providerServer);
const issuer = `http://127.0.0.1:${providerPort}`;

const page = (title, body) => `<!DOCTYPE html><html><head><meta charset="utf-8"><title>${title}</title></head><body><h1>${title}</h1>${body}</body></html>`;
const esc = (s) => String(s).replace(/[&<>"']/g, (c) => `&#${c.charCodeAt(0)};`);

const provider = new Provider(issuer, {
  clients: [{
    client_id: 'gantry',
    client_name: 'Gantry',
    token_endpoint_auth_method: 'none',
    application_type: 'native',
    grant_types: ['authorization_code', 'refresh_token', 'urn:ietf:params:oauth:grant-type:device_code'],
    response_types: ['code'],
    redirect_uris: ['http://127.0.0.1/callback'],
  }],
  pkce: { required: () => true },
  cookies: { keys: ['gantry-test-cloud'] },
  claims: { openid: ['sub'], email: ['email', 'email_verified'] },
  scopes: ['openid', 'email', 'offline_access'],
  findAccount: async (ctx, id) => {
    const account = ACCOUNTS.find((a) => a.sub === id);
    if (!account) return undefined;
    return { accountId: id, claims: async () => ({ sub: id, email: account.email, email_verified: account.verified }) };
  },
  interactions: { url: (ctx, interaction) => `/interaction/${interaction.uid}` },
  features: {
    devInteractions: { enabled: false },
    deviceFlow: {
      enabled: true,
      userCodeInputSource: async (ctx, form, out, err) => {
        const error = err ? `<p id="device-error">${esc(err.name ?? 'error')}: ${esc(err.message ?? '')}</p>` : '';
        ctx.body = page('Enter code', `${error}${form}<button type="submit" form="op.deviceInputForm">Continue</button>`);
      },
      userCodeConfirmSource: async (ctx, form, client, deviceInfo, userCode) => {
        ctx.body = page('Confirm device', `<p>Code <code id="user-code">${esc(userCode)}</code></p>${form}<button id="confirm" type="submit" form="op.deviceConfirmForm">Continue</button><button id="abort" type="submit" form="op.deviceConfirmForm" value="yes" name="abort">Abort</button>`);
      },
      successSource: async (ctx) => { ctx.body = page('Sign-in Success', '<p id="device-done">You can close this page.</p>'); },
    },
  },
  ttl: {
    AccessToken: Number(process.env.TEST_CLOUD_ACCESS_TTL ?? 600),
    DeviceCode: Number(process.env.TEST_CLOUD_DEVICE_TTL ?? 600),
    RefreshToken: 3600,
  },
});
provider.proxy = false;

// RFC 8628 `interval` and `slow_down`, which oidc-provider leaves out: add them around it.
const lastPoll = new Map();
const providerCallback = provider.callback();

// Lets `inspect` see (and change) a JSON answer of oidc-provider before it is sent.
function tapJson(res, inspect) {
  const write = res.write.bind(res);
  const end = res.end.bind(res);
  const chunks = [];
  res.write = (chunk) => { chunks.push(Buffer.from(chunk)); return true; };
  res.end = (chunk) => {
    if (chunk) chunks.push(Buffer.from(chunk));
    let text = Buffer.concat(chunks).toString('utf8');
    try {
      const json = JSON.parse(text);
      inspect(json);
      text = JSON.stringify(json);
    } catch { /* not JSON: pass through */ }
    if (!res.headersSent) res.setHeader('content-length', Buffer.byteLength(text));
    write(text);
    return end();
  };
}

async function readBody(req) {
  const chunks = [];
  for await (const chunk of req) chunks.push(chunk);
  return Buffer.concat(chunks).toString('utf8');
}

async function interaction(req, res, uid) {
  const details = await provider.interactionDetails(req, res);
  if (req.method === 'GET') {
    res.setHeader('content-type', 'text/html; charset=utf-8');
    if (details.prompt.name === 'login') {
      return res.end(page('Sign in', `<form method="post"><input name="email" id="email"><input name="password" id="password" type="password"><button id="login" type="submit">Sign in</button></form>`));
    }
    return res.end(page('Consent', `<form method="post"><button id="allow" name="decision" value="allow" type="submit">Allow</button><button id="deny" name="decision" value="deny" type="submit">Deny</button></form>`));
  }
  const form = new URLSearchParams(await readBody(req));
  if (details.prompt.name === 'login') {
    const account = byEmail(form.get('email'));
    if (!account || account.password !== form.get('password')) {
      res.setHeader('content-type', 'text/html; charset=utf-8');
      return res.end(page('Sign in', '<p id="bad">wrong password</p>'));
    }
    return provider.interactionFinished(req, res, { login: { accountId: account.sub } }, { mergeWithLastSubmission: false });
  }
  if (form.get('decision') !== 'allow') {
    return provider.interactionFinished(req, res, { error: 'access_denied', error_description: 'the user denied the request' }, { mergeWithLastSubmission: false });
  }
  const grant = details.grantId ? await provider.Grant.find(details.grantId) : new provider.Grant({ accountId: details.session.accountId, clientId: details.params.client_id });
  const missing = details.prompt.details;
  if (missing.missingOIDCScope) grant.addOIDCScope(missing.missingOIDCScope.join(' '));
  if (missing.missingOIDCClaims) grant.addOIDCClaims(missing.missingOIDCClaims);
  for (const [indicator, scopes] of Object.entries(missing.missingResourceScopes ?? {})) grant.addResourceScope(indicator, scopes.join(' '));
  const grantId = await grant.save();
  return provider.interactionFinished(req, res, { consent: { grantId } }, { mergeWithLastSubmission: true });
}

providerServer.on('request', async (req, res) => {
  try {
    const url = new URL(req.url, issuer);
    const match = url.pathname.match(/^\/interaction\/([^/]+)$/);
    if (match) return await interaction(req, res, match[1]);
    if (req.method === 'POST' && url.pathname === '/token') {
      const body = await readBody(req);
      const params = new URLSearchParams(body);
      const grantType = params.get('grant_type');
      state.grants[grantType] = (state.grants[grantType] ?? 0) + 1;
      if (grantType === 'refresh_token' && state.faults.refuseRefresh > 0) {
        // As a provider answers a revoked or expired refresh token.
        state.faults.refuseRefresh -= 1;
        res.writeHead(400, { 'content-type': 'application/json' });
        return res.end(JSON.stringify({ error: 'invalid_grant', error_description: 'grant request is invalid' }));
      }
      if (grantType === 'urn:ietf:params:oauth:grant-type:device_code') {
        const code = params.get('device_code');
        const now = Date.now();
        const last = lastPoll.get(code);
        lastPoll.set(code, now);
        const forced = SLOW_DOWN_ONCE && last !== undefined && !slowedDown.has(code);
        if (forced) slowedDown.add(code);
        if (forced || (last !== undefined && now - last < DEVICE_INTERVAL * 1000 - 50)) {
          res.writeHead(400, { 'content-type': 'application/json' });
          return res.end(JSON.stringify({ error: 'slow_down', error_description: 'poll less often' }));
        }
      }
      tapJson(res, (json) => {
        for (const key of ['access_token', 'refresh_token']) if (json[key]) state.issued.push(json[key]);
        if (json.refresh_token) state.refreshTokensIssued += 1;
      });
      // The body is consumed: oidc-provider then reads the parsed copy from `req.body`.
      req.body = body;
      return providerCallback(req, res);
    }
    if (req.method === 'POST' && url.pathname === '/device/auth') {
      tapJson(res, (json) => { if (json.device_code) json.interval = DEVICE_INTERVAL; });
      return providerCallback(req, res);
    }
    return providerCallback(req, res);
  } catch (e) {
    if (!res.headersSent) res.writeHead(500, { 'content-type': 'text/plain' });
    res.end(`test provider error: ${e.message}`);
  }
});

// ---- the cloud ----

const state = {
  userTokens: new Map(), // user_token -> account
  printers: new Map(), // printer_token -> {id, account, printer, queue, reports, acks, errors, outstanding}
  printerLogins: 0,
  loginRequests: [], // bodies of user_login, password replaced by its length
  faults: { status500: 0, hang: 0, dropDownloadAt: null, repeatNext: 0, printerType: 0, refuseRefresh: 0 },
  files: new Map(), // name -> Buffer
  downloads: [], // {name, range, status}
  startedQueued: [],
  contacts: 0,
  issued: [],
  grants: {}, // provider token requests by grant_type
  refreshTokensIssued: 0,
  organisationRequests: 0,
  // Gantry's sso_organisations extension: what this cloud lists (set with /control/organisations).
  organisations: [
    { name: 'Example University', issuer, client_id: 'gantry', domain: 'example.test' },
    { name: 'Cloud Only Institute', issuer, client_id: 'gantry' },
  ],
  expired: 0,
};
let nextNumber = 1;

const json = (res, status, value, extra = {}) => {
  const text = JSON.stringify(value);
  const date = new Date(Date.now() + DATE_SKEW * 1000).toUTCString();
  res.writeHead(status, { 'content-type': 'application/json', 'content-length': Buffer.byteLength(text), date, ...extra });
  res.end(text);
};

async function verifyAccessToken(token) {
  const response = await fetch(`${issuer}/me`, { headers: { authorization: `Bearer ${token}` } });
  if (!response.ok) return null;
  return response.json();
}

async function userLogin(body) {
  const login = body.login ?? {};
  state.loginRequests.push({ ...body, login: { user: login.user, password_len: login.password?.length, access_token_len: login.access_token?.length } });
  let account;
  if (login.access_token) {
    const claims = await verifyAccessToken(login.access_token);
    if (!claims) return { error: { code: 3, message: 'Invalid SSO token' } };
    account = ACCOUNTS.find((a) => a.sub === claims.sub);
    if (!account || account.sso_only) return { error: { code: 5, message: 'SSO user not found' } };
  } else {
    account = byEmail(login.user);
    if (!account || account.sso_only || account.password !== login.password) return { error: { code: 3, message: 'Wrong login or password' } };
  }
  if (!account.verified) return { error: { code: 4, message: 'Email is not verified' } };
  if (account.groups.length === 0) return { error: { code: 6, message: 'Access denied: user is not a member of any workgroup' } };
  const token = `ut-${crypto.randomBytes(12).toString('hex')}`;
  state.userTokens.set(token, account);
  state.issued.push(token);
  return { user_token: token, user_login: account.email, all_profiles: [], settings_mod: body.want_settings_mod ?? {} };
}

function printerLogin(body) {
  const account = state.userTokens.get(body.user_token);
  if (!account) return { error: { code: 3, message: 'Invalid user token' } };
  if (state.faults.printerType > 0) {
    state.faults.printerType -= 1;
    return { error: { code: 8, message: 'Printer type is unknown; select it on the website' } };
  }
  const id = `${body.printer?.VID}_${body.printer?.PID}_${body.printer?.SNR}`;
  state.printerLogins += 1;
  // A printer logged in again (after a restart, or under another account) keeps its queue.
  let existing = [...state.printers.entries()].find(([, p]) => p.id === id);
  const token = `pt-${crypto.randomBytes(12).toString('hex')}`;
  state.issued.push(token);
  const entry = existing ? existing[1] : { id, queue: [], reports: [], acks: [], errors: [], outstanding: null, printer: body.printer };
  if (existing) state.printers.delete(existing[0]);
  entry.account = account.email;
  entry.version = body.version;
  state.printers.set(token, entry);
  return { printer_token: token, printer_profile: { alias: 'marlin', name: 'Marlin' }, name: `Printer ${id}`, current_groups: account.groups };
}

function command(body) {
  const entry = state.printers.get(body.printer_token);
  if (!entry) return { error: { code: 3, message: 'Invalid printer token' } };
  entry.reports.push(body.report ?? null);
  if (Array.isArray(body.error)) entry.errors.push(...body.error);
  if (body.command_ack) {
    entry.acks.push(body.command_ack);
    if (entry.outstanding && entry.outstanding.number === body.command_ack.number) entry.outstanding = null;
  }
  if (state.faults.repeatNext > 0 && entry.lastSent) {
    state.faults.repeatNext -= 1;
    return entry.lastSent;
  }
  const next = entry.queue.shift();
  if (!next) return body.report === undefined ? '' : [];
  entry.lastSent = next;
  entry.outstanding = next;
  return next;
}

async function cloudRequest(req, res) {
  state.contacts += 1;
  const url = new URL(req.url, 'http://127.0.0.1');
  if (url.pathname.startsWith('/control/')) return control(req, res, url);
  if (url.pathname.startsWith('/files/')) return download(req, res, decodeURIComponent(url.pathname.slice(7)));
  if (state.faults.hang > 0) {
    state.faults.hang -= 1;
    return; // never answer: the client's timeout must fire
  }
  if (state.faults.status500 > 0) {
    state.faults.status500 -= 1;
    return json(res, 500, { error: { code: 500, message: 'injected' } });
  }
  if (req.method !== 'POST') return json(res, 405, { error: { code: 1, message: 'POST only' } });
  let body;
  try {
    body = JSON.parse(await readBody(req));
  } catch {
    return json(res, 400, { error: { code: 2, message: 'not JSON' } });
  }
  switch (url.pathname) {
    case '/streamerapi/user_login': return json(res, 200, await userLogin(body));
    case '/streamerapi/printer_login': return json(res, 200, printerLogin(body));
    case '/streamerapi/command': {
      const answer = command(body);
      // The reason phrase is not "OK": a client must judge by the status code alone.
      res.statusMessage = 'Fine';
      return json(res, 200, answer);
    }
    case '/streamerapi/get_queued_jobs': return json(res, 200, []);
    case '/streamerapi/sso_organisations':
      state.organisationRequests += 1;
      return json(res, 200, { organisations: state.organisations });
    case '/streamerapi/start_queued_job': state.startedQueued.push(body); return json(res, 200, []);
    default: return json(res, 404, { error: { code: 1, message: 'no such endpoint' } });
  }
}

function download(req, res, name) {
  const data = state.files.get(name);
  if (!data) return json(res, 404, { error: 'no file' });
  const range = req.headers.range;
  let start = 0;
  if (range) {
    const m = range.match(/^bytes=(\d+)-$/);
    if (!m) return json(res, 416, { error: 'bad range' });
    start = Number(m[1]);
  }
  state.downloads.push({ name, range: range ?? null });
  const headers = { 'content-type': 'application/octet-stream', 'content-length': data.length - start, 'accept-ranges': 'bytes' };
  if (range) headers['content-range'] = `bytes ${start}-${data.length - 1}/${data.length}`;
  res.writeHead(range ? 206 : 200, headers);
  const drop = state.faults.dropDownloadAt;
  if (drop !== null && drop > start && drop < data.length) {
    state.faults.dropDownloadAt = null;
    res.write(data.subarray(start, drop), () => res.socket.destroy());
    return;
  }
  res.end(data.subarray(start));
}

async function control(req, res, url) {
  const body = req.method === 'POST' ? JSON.parse((await readBody(req)) || '{}') : {};
  const printerEntry = (id) => [...state.printers.values()].find((p) => p.id === id);
  switch (url.pathname) {
    case '/control/state':
      return json(res, 200, {
        contacts: state.contacts,
        logins: state.loginRequests,
        printers: [...state.printers.values()].map(({ id, account, reports, acks, errors, queue, printer, version }) => ({ id, account, reports, acks, errors, queued: queue.length, printer, version })),
        printerLogins: state.printerLogins,
        grants: state.grants,
        refreshTokensIssued: state.refreshTokensIssued,
        organisationRequests: state.organisationRequests,
        downloads: state.downloads,
        startedQueued: state.startedQueued,
        // Every token issued, so a test can check none leaked into logs or files.
        tokens: [...state.issued],
      });
    case '/control/fault':
      Object.assign(state.faults, body);
      return json(res, 200, state.faults);
    case '/control/expire': {
      // Every user and printer token issued so far stops working, as when they expire.
      state.userTokens.clear();
      for (const [token, entry] of [...state.printers.entries()]) {
        state.printers.delete(token);
        state.expired += 1;
        state.printers.set(`expired-${state.expired}`, entry);
      }
      return json(res, 200, { expired: true });
    }
    case '/control/organisations':
      state.organisations = body.organisations;
      return json(res, 200, { count: state.organisations.length });
    case '/control/file':
      state.files.set(body.name, Buffer.from(body.base64, 'base64'));
      return json(res, 200, { size: state.files.get(body.name).length });
    case '/control/command': {
      const entry = printerEntry(body.printer) ?? [...state.printers.values()][0];
      if (!entry) return json(res, 404, { error: 'no printer' });
      const cmd = { command: body.command, number: body.number ?? nextNumber++, payload: body.payload ?? null, ...(body.extra ?? {}) };
      entry.queue.push(cmd);
      return json(res, 200, cmd);
    }
    default: return json(res, 404, { error: 'no such control' });
  }
}

const cloudServer = http.createServer((req, res) => {
  cloudRequest(req, res).catch((e) => { if (!res.headersSent) json(res, 500, { error: { code: 500, message: e.message } }); });
});
const cloudPort = await listen(cloudServer);
process.stdout.write(`${JSON.stringify({ cloud: `http://127.0.0.1:${cloudPort}`, issuer })}\n`);
process.stdout.on('error', () => {});
process.stdin.resume();
process.stdin.on('end', () => process.exit(0));
