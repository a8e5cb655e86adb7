#!/usr/bin/env node
// A hostile "browser" for tests, used as $BROWSER: it never signs in, it calls the app's
// loopback callback straight away with a forged `state`, as a cross-site request would.
const start = new URL(process.argv[2]);
const redirect = start.searchParams.get('redirect_uri');
const issuer = `${start.protocol}//${start.host}`;
await fetch(`${redirect}?code=stolen&state=forged&iss=${encodeURIComponent(issuer)}`).catch(() => {});
