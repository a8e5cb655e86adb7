// The Client Cloud Login page: email/password, SSO with an organisation search, offline mode.
'use strict';

const $ = (id) => document.getElementById(id);

async function call(method, path, body) {
  const response = await fetch(path, {
    method,
    headers: body ? { 'content-type': 'application/json' } : {},
    body: body ? JSON.stringify(body) : undefined,
  });
  const text = await response.text();
  const data = text ? JSON.parse(text) : null;
  if (!response.ok) throw new Error(data?.error?.message ?? `HTTP ${response.status}`);
  return data;
}

function say(text) { $('message').textContent = text; }

async function refresh() {
  const status = await call('GET', '/api/v1/cloud');
  const linked = status.mode === 'linked';
  $('choices').hidden = linked;
  $('linked').hidden = !linked;
  $('cloud-state').textContent = linked
    ? `Linked to ${status.base_url} as ${status.account}; ${status.secrets_note}.`
    : status.mode === 'offline' ? 'Working offline.' : 'Not linked to a cloud account.';
  $('offline').textContent = status.mode === 'offline' ? 'Leave offline mode' : 'Work offline';
  $('offline').dataset.offline = status.mode === 'offline' ? 'yes' : 'no';
  $('cloud-warning').hidden = !status.warning;
  $('cloud-warning').textContent = status.warning ?? '';
  // Why the link ended by itself (a sign-in that expired and could not be renewed).
  $('cloud-error').hidden = !status.error;
  $('cloud-error').textContent = status.error ?? '';
  // The cloud's reset page (the `password_reset_url` cloud setting, or the cloud's website).
  $('forgot').href = status.password_reset_url;
}

$('password-form').addEventListener('submit', async (event) => {
  event.preventDefault();
  say('Signing in…');
  try {
    await call('POST', '/api/v1/cloud/login', { email: $('email').value, password: $('password').value });
    $('password').value = '';
    say('Signed in.');
  } catch (e) { say(e.message); }
  refresh();
});

let searchTimer;
$('org-search').addEventListener('input', () => {
  clearTimeout(searchTimer);
  searchTimer = setTimeout(async () => {
    const list = await call('GET', `/api/v1/cloud/organisations?q=${encodeURIComponent($('org-search').value)}`);
    $('org-results').replaceChildren(...list.map((org) => {
      const item = document.createElement('li');
      const button = document.createElement('button');
      button.type = 'button';
      button.textContent = org.name;
      button.addEventListener('click', async () => {
        say(`Continue in the browser window that opened for ${org.name}…`);
        try {
          await call('POST', '/api/v1/cloud/sso', { organisation: org.name });
          say('Signed in.');
        } catch (e) { say(e.message); }
        refresh();
      });
      item.append(button);
      return item;
    }));
  }, 200);
});

$('offline').addEventListener('click', async () => {
  try { await call('POST', '/api/v1/cloud/offline', { offline: $('offline').dataset.offline !== 'yes' }); } catch (e) { say(e.message); }
  refresh();
});

$('logout').addEventListener('click', async () => {
  try {
    await call('POST', '/api/v1/cloud/logout', { force: false });
  } catch (e) {
    if (confirm(`${e.message}\n\nLog out anyway? The prints continue.`)) {
      try { await call('POST', '/api/v1/cloud/logout', { force: true }); } catch (e2) { say(e2.message); }
    } else { say(e.message); }
  }
  refresh();
});

refresh().catch((e) => say(e.message));
