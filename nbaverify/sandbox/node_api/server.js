'use strict';
// The sandbox's second reference API: Contract 2 written again on the guide's own Node stack
// (koa, @koa/router, jsonwebtoken, koa-ratelimit, koa-helmet, pg, prom-client, ws), so the
// checks meet an implementation they were not written beside. The guide's snippets are followed
// literally where it has them: the timing middleware, the JWT middleware, the pool settings.
//
// Configured the way a Node deploy is, by environment: PORT, TLS_CERT_FILE, TLS_KEY_FILE,
// DATABASE_URL, REPLICA_DATABASE_URL, JWT_SECRET (JWT_PREVIOUS_SECRET) or
// JWT_ALGORITHM with JWT_PUBLIC_KEY (JWT_PREVIOUS_PUBLIC_KEY), JWT_ISSUER, JWT_AUDIENCE, APP_VERSION, and the
// sandbox's NBAVERIFY_CONTROL_FILE / NBAVERIFY_API_FLAGS (the fault switches, see api_flags.json).

const fs = require('node:fs');
const http = require('node:http');
const https = require('node:https');
const crypto = require('node:crypto');

const Koa = require('koa');
const { Router } = require('@koa/router');
const jwt = require('jsonwebtoken');
const ratelimit = require('koa-ratelimit');
const helmet = require('koa-helmet');
const cors = require('@koa/cors');
const { Pool, Client } = require('pg');
const client = require('prom-client');
const { WebSocketServer } = require('ws');

const env = process.env;
const FLAGS = JSON.parse(fs.readFileSync(env.NBAVERIFY_API_FLAGS, 'utf8'));
const TIMINGS = FLAGS.timings;

// -- the control file: which faults are on (reread when its identity changes) ------------------
const control = (() => {
  let stamp = null;
  let current = { faults: new Set(), generation: 0, allowlist: new Set(), settings: {} };
  const read = () => {
    try {
      const raw = JSON.parse(fs.readFileSync(env.NBAVERIFY_CONTROL_FILE, 'utf8'));
      return { faults: new Set(raw.faults || []), generation: raw.generation || 0,
               allowlist: new Set(raw.allowlist || []), settings: raw.settings || {} };
    } catch (err) {
      return { faults: new Set(), generation: 0, allowlist: new Set(), settings: {} };
    }
  };
  return {
    current() {
      let now = null;
      try {
        const st = fs.statSync(env.NBAVERIFY_CONTROL_FILE);
        now = `${st.ino}:${st.mtimeMs}`;
      } catch (err) { /* no control file: no faults */ }
      if (now !== stamp) { stamp = now; current = read(); }
      return current;
    },
    on(flag) {
      if (!(flag in FLAGS.flags)) throw new Error(`unknown fault flag ${flag}`);  // a typo must not pass silently
      return this.current().faults.has(flag);
    },
  };
})();

// -- the rate_limit_per_process fault (read at start): two instances behind the one address, as PM2's cluster mode
// runs them; Node's cluster hands connections to the workers in turn, and each keeps its limiter's memory store
const cluster = require('node:cluster');
if (cluster.isPrimary && control.on('rate_limit_per_process')) {
  const workers = [cluster.fork(), cluster.fork()];
  let stopping = false;
  const stop = () => { stopping = true; for (const worker of workers) worker.kill('SIGTERM'); setTimeout(() => process.exit(0), 3000).unref(); };
  cluster.on('exit', () => { if (stopping) { if (workers.every((w) => w.isDead())) process.exit(0); } else process.exit(1); });
  process.on('SIGTERM', stop);
  process.on('SIGINT', stop);
  return;
}

// -- logging in the guide's format ----------------------------------------------------------------
const logger = {
  info: (message) => process.stdout.write(`${new Date().toISOString()} info ${message}\n`),
  warn: (message) => process.stdout.write(`${new Date().toISOString()} warn ${message}\n`),
  error: (message) => process.stdout.write(`${new Date().toISOString()} error ${message}\n`),
};

// ACCESS_LOG=combined: a line a request as morgan('combined') writes it, but the path without its query, so a token
// in a URL (/ws/live?token=...) never lands in the log
const accessLog = env.ACCESS_LOG === 'combined';
const MONTHS = ['Jan', 'Feb', 'Mar', 'Apr', 'May', 'Jun', 'Jul', 'Aug', 'Sep', 'Oct', 'Nov', 'Dec'];
function accessLine({ ip, method, url, path, httpVersion, status, length, referer, agent }) {
  const d = new Date();
  const two = (n) => String(n).padStart(2, '0');
  const when = `${two(d.getUTCDate())}/${MONTHS[d.getUTCMonth()]}/${d.getUTCFullYear()}:${two(d.getUTCHours())}:` +
    `${two(d.getUTCMinutes())}:${two(d.getUTCSeconds())} +0000`;
  const quoted = (text) => (text || '-').replace(/["\p{C}]/gu, '_').slice(0, 200);
  // the fault access_log_query: the request line as nginx's combined format has it, query and all
  const target = control.on('access_log_query') ? url : path;
  return `${ip} - - [${when}] "${method} ${target} HTTP/${httpVersion}" ${status} ${length ?? '-'} ` +
    `"${quoted(referer)}" "${quoted(agent)}"\n`;
}
const logsAccess = () => accessLog || control.on('access_log_query');
function logRequest(ctx) {
  if (!logsAccess()) return;
  process.stdout.write(accessLine({ ip: ctx.ip, method: ctx.method, url: ctx.url, path: ctx.path,
    httpVersion: ctx.req.httpVersion, status: ctx.status, length: ctx.response.length, referer: ctx.get('referer'),
    agent: ctx.get('user-agent') }));
}
function logUpgrade(req, status) {  // an upgrade is a request line too (nginx logs the handshake, 101 or its refusal)
  if (!logsAccess()) return;
  const url = new URL(req.url, 'https://localhost');
  process.stdout.write(accessLine({ ip: req.socket.remoteAddress, method: req.method, url: req.url, path: url.pathname,
    httpVersion: req.httpVersion, status, length: undefined, referer: req.headers.referer,
    agent: req.headers['user-agent'] }));
}

// -- metrics, named as a prom-client team names them ----------------------------------------------
const registry = new client.Registry();
client.collectDefaultMetrics({ register: registry });
const requests = new client.Counter({ name: 'http_requests_total', help: 'HTTP requests',
  labelNames: ['method', 'route', 'status'], registers: [registry] });
const duration = new client.Histogram({ name: 'http_request_duration_seconds', help: 'HTTP request duration',
  labelNames: ['method', 'route', 'status_code'], buckets: [0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10],
  registers: [registry] });
// CACHE_METRICS_BY_ROUTE=1: a route label, so each route's series is created on its first hit or miss (before any,
// the counters are declared and have no series)
const cacheByRoute = env.CACHE_METRICS_BY_ROUTE === '1';
const cacheLabels = cacheByRoute ? { labelNames: ['route'] } : {};
const cacheHits = new client.Counter({ name: 'cache_hits_total', help: 'Response cache hits', registers: [registry],
  ...cacheLabels });
const cacheMisses = new client.Counter({ name: 'cache_misses_total', help: 'Response cache misses', registers: [registry],
  ...cacheLabels });
const cacheCounted = (counter, key) => (cacheByRoute
  ? counter.inc({ route: key.split('?')[0].replace(/\/\d+/g, '/{id}') }) : counter.inc());
const wsActive = new client.Gauge({ name: 'websocket_connections_active', help: 'Open /ws/live connections',
  registers: [registry] });

// Database Optimization / Connection Pool Settings, as the guide writes it
const pool = new Pool({
  connectionString: env.DATABASE_URL,
  max: Number(env.DB_POOL_MAX || 20),  // a deploy may size it smaller within the guide
  min: Number(env.DB_POOL_MIN || 4),
  idleTimeoutMillis: 30000,
  connectionTimeoutMillis: 2000,
  application_name: 'nba-api',
});
pool.on('error', (err) => logger.error(`idle client error: ${err.message}`));
// the platform's dashboards read these names (fixtures/monitoring/dashboards/database-health.json)
new client.Gauge({ name: 'db_pool_connections', help: 'Connections held by the pool', registers: [registry],
  collect() { this.set(pool.totalCount); } });
new client.Gauge({ name: 'db_pool_connections_idle', help: 'Idle connections in the pool', registers: [registry],
  collect() { this.set(pool.idleCount); } });
new client.Gauge({ name: 'db_pool_requests_waiting', help: 'Requests waiting for a connection', registers: [registry],
  collect() { this.set(pool.waitingCount); } });

class Unavailable extends Error {}

async function query(sql, params = []) {
  try {
    return (await pool.query(sql, params)).rows;
  } catch (err) {
    if (err.code === undefined || /^(08|53|57P)/.test(err.code)) throw new Unavailable(err.message);
    throw err;
  }
}

// -- the response cache (Performance Tuning / Cache Configuration: maxAge 3600, swr 60) ----------
const CACHE_MAX_AGE_S = 3600;
const CACHE_CONTROL = `public, max-age=${CACHE_MAX_AGE_S}, stale-while-revalidate=60`;
const cache = new Map();

async function cached(ctx, produce) {
  if (control.on('cache_disabled')) { ctx.body = await produce(); return; }
  const key = ctx.url;
  const entry = cache.get(key);
  if (entry && Date.now() - entry.at < CACHE_MAX_AGE_S * 1000) {
    cacheCounted(cacheHits, key);
    ctx.body = entry.body;
  } else {
    cacheCounted(cacheMisses, key);
    const body = await produce();
    cache.set(key, { at: Date.now(), body });
    ctx.body = body;
  }
  ctx.set('Cache-Control', control.on('cache_forbids_reuse') ? 'no-store' : CACHE_CONTROL);  // the fault contradicts the cache
}

function positiveInt(raw, name) {
  if (!/^[0-9]{1,10}$/.test(raw) || Number(raw) < 1 || Number(raw) > 2147483647) {
    const err = new Error(`${name} must be a positive integer`);
    err.status = 400;
    err.expose = true;
    throw err;
  }
  return Number(raw);
}

// -- JWT (Security Best Practices / Authentication & Authorization) -------------------------------
// how tokens are signed (the variant's jwt_alg): HS256 with the secret, or a key pair whose public half the API holds
const ALGORITHM = env.JWT_ALGORITHM || 'HS256';
const KEY_PAIR = ALGORITHM !== 'HS256';

// the public key tokens verify with: the deployed one, or the public half of a key a fault signs with
function publicKey(settings) {
  return settings.jwt_private_key ? crypto.createPublicKey(settings.jwt_private_key) : env.JWT_PUBLIC_KEY;
}

// the faults: the key the token itself names, from its jwk header, or fetched from its jku or x5u URL
async function keyFromToken(header) {
  if (control.on('jwt_embedded_jwk') && header.jwk && typeof header.jwk === 'object') {
    return crypto.createPublicKey({ key: header.jwk, format: 'jwk' });
  }
  if (!control.on('jwt_key_url_trusted') || !(header.jku || header.x5u)) return null;
  const reply = await fetch(String(header.jku || header.x5u), { signal: AbortSignal.timeout(2000) });
  if (header.jku) {
    const { keys = [] } = await reply.json();
    const jwk = keys.find((key) => key.kid === header.kid) || keys[0];
    return crypto.createPublicKey({ key: jwk, format: 'jwk' });
  }
  return new crypto.X509Certificate(await reply.text()).publicKey;
}

async function verifyToken(token) {
  const settings = control.current().settings;
  let secret = settings.platform_jwt_secret || settings.jwt_secret || env.JWT_SECRET;
  if (control.on('jwt_no_verify')) return jwt.decode(token) || {};
  const part = (n) => { try { return JSON.parse(Buffer.from(token.split('.')[n], 'base64url').toString()); } catch { return {}; } };
  const header = part(0);
  // the fault: an unsigned token's claims taken as they are (with or without the trailing dot)
  if (control.on('jwt_alg_none') && String(header.alg).toLowerCase() === 'none') return part(1);
  // the fault: the key looked up by kid, unchecked (a path, a string-built query), an empty key taken too
  if (control.on('jwt_kid_lookup') && header.kid) return jwt.verify(token, await keyByKid(String(header.kid)), { algorithms: ['HS256'] });
  // the fault: JWT_SECRET went missing and an empty key is taken (jsonwebtoken refuses '', not an empty Buffer)
  if (control.on('jwt_blank_secret')) return jwt.verify(token, Buffer.alloc(0), { algorithms: ['HS256'] });
  const options = { algorithms: [ALGORITHM], ignoreExpiration: control.on('jwt_ignore_exp'),
                    ignoreNotBefore: control.on('jwt_ignore_nbf'), maxAge: '1d' };  // the platform's token age limit
  if (control.on('jwt_no_max_age')) delete options.maxAge;  // the fault: a token lives as long as its exp says
  // the fault: the guide's jwt.verify(token, secret) as written, which takes HS256, HS384 and HS512 alike
  if (control.on('jwt_alg_unpinned')) delete options.algorithms;
  if (env.JWT_ISSUER && !control.on('jwt_no_claim_checks')) {
    options.issuer = env.JWT_ISSUER;
    options.audience = env.JWT_AUDIENCE;
  }
  if (KEY_PAIR) {
    secret = publicKey(settings);
    // the fault: the key taken for whatever the token's alg says, the public key's PEM as an HMAC secret (jsonwebtoken
    // 8.5.1 did so without algorithms, CVE-2022-23541; 9 refuses a public key for HS256, so it is handed over as one)
    if (control.on('jwt_key_confusion') && header.alg === 'HS256') {
      return jwt.verify(token, crypto.createSecretKey(Buffer.from(env.JWT_PUBLIC_KEY)), { ...options, algorithms: ['HS256'] });
    }
    secret = (await keyFromToken(header).catch(() => { throw new jwt.JsonWebTokenError('no key'); })) || secret;
  }
  let decoded;
  try {
    decoded = jwt.verify(token, secret, options);
  } catch (err) {
    // the fault: the rotation kept the retired secret (or public key) as a fallback
    const previous = KEY_PAIR ? env.JWT_PREVIOUS_PUBLIC_KEY : env.JWT_PREVIOUS_SECRET;
    if (!(control.on('jwt_old_secret_kept') && previous && err.message === 'invalid signature')) throw err;
    decoded = jwt.verify(token, previous, options);
  }
  // jsonwebtoken accepts a token without exp (it would never expire): this platform refuses it
  if (typeof decoded.exp !== 'number' && !control.on('jwt_exp_optional')) throw new jwt.JsonWebTokenError('jwt has no exp');
  return decoded;
}

async function keyByKid(kid) {
  if (kid.includes('/')) return fs.readFileSync(require('node:path').join('/etc/nba/jwt-keys', kid));
  const replica = new Client({ connectionString: env.REPLICA_DATABASE_URL, connectionTimeoutMillis: 2000 });
  await replica.connect();
  try {
    const { rows } = await replica.query(`SELECT name FROM teams WHERE abbreviation = '${kid}'`);
    return Buffer.from(rows.length ? String(rows[0].name) : '');
  } finally {
    await replica.end();
  }
}

// the first token each subject presents from each client is logged, so the access review can list the subjects the
// API accepted without a line a request; bounded, so a flood of subjects cannot grow it without end
// (anew after the sandbox reconfigures it: the sandbox then starts the log anew, as a rollout's new pods would)
const seenSubjects = new Set();
let seenGeneration = -1;
function auditSubject(ctx, decoded) {
  const { generation } = control.current();
  if (generation !== seenGeneration) {
    seenSubjects.clear();
    seenGeneration = generation;
  }
  const key = JSON.stringify([String(decoded.sub ?? ''), ctx.ip]);
  if (seenSubjects.has(key)) return;
  if (seenSubjects.size >= 10000) seenSubjects.delete(seenSubjects.values().next().value);
  seenSubjects.add(key);
  const printable = (text) => String(text).replace(/["\p{C}]/gu, '_').slice(0, 120);
  logger.info(`Token accepted: sub="${printable(decoded.sub ?? '')}" from ${ctx.ip} ua="${printable(ctx.get('user-agent') || '')}"`);
}

// the guide's JWT validation middleware, verbatim but for the fault switches
async function requireJwt(ctx, next) {
  if (control.on('auth_bypass_route') && ctx.path.startsWith('/api/games/')) { await next(); return; }
  // the fault: no bearer JWT at all is taken for an anonymous reader
  const given = String(ctx.headers.authorization || '');
  if (control.on('auth_anonymous_fallback') && !/^Bearer [^.\s]*\.[^.\s]*\.[^.\s]*$/i.test(given)) { await next(); return; }
  const token = ctx.headers.authorization?.split(' ')[1];
  if (!token) {
    ctx.throw(401, 'No token provided');
  }
  // the fault: the token's header read by hand (for its kid), before verification, and nothing catches it
  if (control.on('auth_parse_crash')) JSON.parse(Buffer.from(token.split('.')[0], 'base64url').toString());
  try {
    const decoded = await verifyToken(token);
    ctx.state.user = decoded;
    auditSubject(ctx, decoded);
  } catch (err) {
    ctx.throw(401, 'Invalid token');
  }
  // the fault: sub taken as a string, whatever it is (a TypeError, a 500, when it is not)
  if (control.on('jwt_claim_crash')) ctx.state.user.sub = ctx.state.user.sub.toLowerCase();
  await next();
}

// -- the rate limiter (Rate Limiting: windowMs 15 minutes, max 100 per client) --------------------
// who a client is: its address, or under rate_limit_shared_bucket one key for all, as an API behind an ingress whose
// X-Forwarded-For it does not trust sees every user as the ingress's address
const clientKey = (ctx) => (control.on('rate_limit_shared_bucket') ? 'ingress' : ctx.ip);

// placed: 'before' the JWT middleware (the guide's order) or 'after' it (the rate_limit_after_auth fault's order);
// one instance of each is registered and the one not in force passes every request on
function rateLimiter(placed) {
  let generation = -1;
  let limiter = null;
  return async (ctx, next) => {
    const current = control.current();
    if (control.on('no_rate_limit') || (placed === 'after') !== control.on('rate_limit_after_auth')) { await next(); return; }
    // the fault: the projections route mounted beside the limited router, not under it
    if (control.on('rate_limit_route_gap') && ctx.path.startsWith('/api/projections/')) { await next(); return; }
    if (current.generation !== generation) {  // the sandbox was reconfigured: start clean windows
      generation = current.generation;
      // the fault: windowMs of a minute, not 15
      const minutes = control.on('rate_limit_short_window') ? 1 : 15;
      limiter = ratelimit({
        driver: 'memory', db: new Map(), duration: minutes * 60 * 1000, max: 100, id: clientKey,
        whitelist: (c) => control.current().allowlist.has(clientKey(c)) && !control.on('allowlist_lost'),
        errorMessage: { error: 'Too Many Requests', message: 'Too many requests, please try again later.', statusCode: 429 },
        onLimited: (c) => { if (control.on('rate_limit_no_retry_after')) c.remove('Retry-After'); },
        // with error_headers_dropped the 429 is thrown, as a team does to format it in its error handler: that
        // handler then rebuilds it without the headers set before (koa-ratelimit's default answers it in place)
        throw: control.on('error_headers_dropped'),
      });
    }
    await limiter(ctx, next);
  };
}

const sleep = (ms) => new Promise((resolve) => setTimeout(resolve, ms));

// -- the app ---------------------------------------------------------------------------------------
const app = new Koa();
app.proxy = env.TRUST_PROXY === '1';  // X-Forwarded-For from the proxy in front (loopback: nobody else reaches us)
// the fault: app.proxy = true with nothing in front that overwrites X-Forwarded-For, so ctx.ip (the limiter's key)
// is whatever leftmost address the client writes there
app.use(async (ctx, next) => {
  app.proxy = env.TRUST_PROXY === '1' || control.on('rate_limit_trusts_xff');
  await next();
});
const startedAt = Date.now();

// Performance Tuning / Response Time Optimization: the guide's timing middleware
app.use(async (ctx, next) => {
  const start = Date.now();
  await next();
  const ms = Date.now() - start;
  if (!control.on('no_response_time_header')) ctx.set('X-Response-Time', `${ms}ms`);
  if (ms > 1000) {
    logger.warn(`Slow response: ${ctx.path} took ${ms}ms`);
  }
});

app.use(async (ctx, next) => {
  const end = duration.startTimer();
  try {
    await next();
  } finally {
    const route = ctx._matchedRoute || 'unmatched';
    requests.inc({ method: ctx.method, route, status: String(ctx.status) });
    end({ method: ctx.method, route, status_code: String(ctx.status) });
    logRequest(ctx);
    // refused requests, with the client, as OWASP's logging guidance asks of auth failures: the access review reads them
    if ([401, 403, 429].includes(ctx.status) && ctx.path.startsWith('/api/')) {
      const agent = (ctx.get('user-agent') || '').replace(/["\p{C}]/gu, '_').slice(0, 120);
      logger.warn(`Access refused: ${ctx.status} ${ctx.method} ${ctx.path} from ${ctx.ip} ua="${agent}"`);
    }
  }
});

// the capacity_limited setting: requests are served by a fixed number of slots, each held for a fixed
// service time (or the real work, if longer), so capacity is slots / service time, known in advance;
// Koa sends the reply once every middleware has returned, so a request waiting for a slot waits in its latency
const slots = { size: 0, busy: 0, waiting: [] };
app.use(async (ctx, next) => {
  const limit = control.current().settings.capacity_limited;
  if (!limit || ctx.path === '/metrics') return next();
  if (slots.size !== limit.slots) Object.assign(slots, { size: limit.slots, busy: 0, waiting: [] });
  if (slots.busy >= slots.size) await new Promise((resolve) => slots.waiting.push(resolve));
  else slots.busy += 1;
  const start = Date.now();
  try {
    await next();
  } finally {
    await sleep(Math.max(0, limit.service_ms - (Date.now() - start)));
    const following = slots.waiting.shift();
    if (following) following(); else slots.busy -= 1;  // the slot passes straight to the next in line
  }
});

// errors: JSON, never a stack trace (Contract 2) unless the fault says otherwise
app.use(async (ctx, next) => {
  try {
    await next();
  } catch (err) {
    const status = err instanceof Unavailable ? 503 : (err.status || 500);
    if (status >= 500 && status !== 501) logger.error(`${ctx.method} ${ctx.path}: ${err.stack}`);  // 501: a method nobody serves
    if (control.on('error_headers_dropped')) {
      // the fault: what Koa's default error handler does, every header set before the error goes (helmet's too)
      ctx.res.getHeaderNames().forEach((name) => ctx.res.removeHeader(name));
      if (err.headers) ctx.set(err.headers);  // and, as it, the error's own (a thrown 429's Retry-After)
    }
    ctx.status = status;
    if (status >= 500 && control.on('stack_trace_errors')) {
      ctx.body = { statusCode: status, error: 'Internal Server Error', message: err.stack };
    } else if (control.on('sql_injection') && err.code !== undefined) {
      ctx.body = { statusCode: status, error: 'Internal Server Error', message: err.message };  // the fault leaks SQL errors
    } else {
      const message = err instanceof Unavailable ? 'database unavailable'
        : (status < 500 && err.expose !== false ? err.message : 'internal server error');
      ctx.body = { statusCode: status, error: status === 503 ? 'Service Unavailable' : statusName(status), message };
    }
  }
});

function statusName(status) {
  return { 400: 'Bad Request', 401: 'Unauthorized', 404: 'Not Found', 405: 'Method Not Allowed', 429: 'Too Many Requests',
           501: 'Not Implemented' }[status]
    || (status >= 500 ? 'Internal Server Error' : 'Error');
}

// Security Best Practices / Data Sanitization: app.use(helmet())
const securityHeaders = helmet();
// the faults: helmet() configured away from its defaults
const shortHsts = helmet({ strictTransportSecurity: { maxAge: 15552000, includeSubDomains: false } });
const leakyReferrer = helmet({ referrerPolicy: { policy: 'unsafe-url' } });
app.use(async (ctx, next) => {
  if (control.on('server_version_leak')) ctx.set('Server', 'nginx/1.22.1');  // the fault: a proxy announces itself
  if (control.on('no_security_headers')) {
    ctx.set('X-Powered-By', 'Express');
    await next();
    return;
  }
  const configured = control.on('hsts_short') ? shortHsts : (control.on('referrer_leak') ? leakyReferrer : securityHeaders);
  await configured(ctx, next);
});

// the fault: TRACE answered by echoing the request back (a debugging handler left on): Cross-Site Tracing
app.use(async (ctx, next) => {
  if (!(control.on('trace_enabled') && ctx.method === 'TRACE')) { await next(); return; }
  const lines = Object.entries(ctx.headers).map(([name, value]) => `${name}: ${value}`);
  ctx.type = 'message/http';
  ctx.body = [`TRACE ${ctx.url} HTTP/${ctx.req.httpVersion}`, ...lines, ''].join('\r\n');
});

// the fault: @koa/cors told to allow whatever Origin asks, with credentials (a reflecting CORS policy)
const reflectingCors = cors({ origin: (ctx) => ctx.get('Origin'), credentials: true, allowMethods: ['GET'] });
app.use(async (ctx, next) => (control.on('cors_reflect') ? reflectingCors(ctx, next) : next()));

// the fault: /health registered for every method (router.all('/health', ...)): PUT, PATCH, DELETE served as a GET
app.use(async (ctx, next) => {
  if (control.on('health_any_method') && ctx.path === '/health' && !['GET', 'HEAD'].includes(ctx.method)) ctx.method = 'GET';
  await next();
});

// -- health (neither authenticated nor rate limited) and metrics ----------------------------------
const open = new Router();
open.get('/health', (ctx) => {
  if (control.on('liveness_fails')) { ctx.status = 503; ctx.body = { status: 'down' }; return; }  // the fault
  ctx.body = { status: 'ok' };
});

open.get('/health/detailed', async (ctx) => {
  const checks = {};
  const t0 = process.hrtime.bigint();
  try {
    await pool.query('SELECT 1');
    checks.database = { status: 'ok', latency_ms: Number(process.hrtime.bigint() - t0) / 1e6 };
  } catch (err) {
    checks.database = { status: 'down', latency_ms: null, error: err.code || err.message };
  }
  checks.replica = control.on('health_lies') ? { status: 'ok', lag_seconds: 0 } : await replicaHealth();
  checks.cache = { status: 'ok', entries: cache.size };
  let status = 'ok';
  if (checks.database.status !== 'ok') status = 'down';
  else if (Object.values(checks).some((c) => c.status !== 'ok')) status = 'degraded';
  ctx.status = status === 'down' ? 503 : 200;
  ctx.body = { status, checks, version: env.APP_VERSION || 'sandbox-node',
               runtime: { name: 'node', version: process.versions.node },
               uptime_seconds: Math.round((Date.now() - startedAt) / 100) / 10 };
});

async function replicaHealth() {
  const replica = new Client({ connectionString: env.REPLICA_DATABASE_URL, connectionTimeoutMillis: 2000,
                               application_name: 'nba-api-health' });
  try {
    await replica.connect();
    const { rows } = await replica.query(
      'SELECT pg_is_in_recovery() AS in_recovery, CASE WHEN pg_last_wal_receive_lsn() > pg_last_wal_replay_lsn() '
      + 'THEN extract(epoch FROM now() - pg_last_xact_replay_timestamp()) ELSE 0 END AS lag');
    const lag = Number(rows[0].lag || 0);
    return { status: rows[0].in_recovery && lag < 30 ? 'ok' : 'degraded', lag_seconds: lag, in_recovery: rows[0].in_recovery };
  } catch (err) {
    return { status: 'down', lag_seconds: null, error: err.code || err.message };
  } finally {
    replica.end().catch(() => {});
  }
}

open.get('/metrics', async (ctx) => {
  if (control.on('no_metrics')) ctx.throw(404, 'Not Found');
  let body = await registry.metrics();
  if (control.on('metrics_missing')) body = body.split('\n').filter((line) => !line.includes('cache_')).join('\n');
  if (control.on('no_pool_gauges')) body = body.split('\n').filter((line) => !line.includes('db_pool_')).join('\n');
  ctx.type = registry.contentType;
  ctx.body = body;
});

// -- data (rate limited, JWT) ---------------------------------------------------------------------
// case-sensitive: with @koa/router's default a route matches /API/players while the middleware of router.use (the
// limiter, the JWT check) does not run for it, and the data goes out without a token. The auth_case_bypass fault
// serves from a router left at that default; both routers get every middleware and route, the limiter one instance.
const routers = { strict: new Router({ prefix: '/api', sensitive: true }), lenient: new Router({ prefix: '/api' }) };
const api = {
  use: (...args) => Object.values(routers).forEach((router) => router.use(...args)),
  get: (...args) => Object.values(routers).forEach((router) => router.get(...args)),
};
const limiterBefore = rateLimiter('before');  // the upgrade of /ws/live is counted by it too
api.use(limiterBefore);
api.use(async (ctx, next) => {
  if (control.on('slow_api')) await sleep(TIMINGS.slow_api_s * 1000);
  if (control.on('error_burst')) ctx.throw(500, 'internal server error');
  logFaults(ctx);
  await next();
});

// the log faults: a cache the API cannot reach, said on every data request (the request is still served);
// the traced one says too much, as careless code does: the connection string and the caller's token
function logFaults(ctx) {
  if (control.on('log_errors')) logger.error('Cache error: connect ECONNREFUSED 127.0.0.1:6379 (serving from the database)');
  if (control.on('log_tokens')) logger.warn(`Request: authorization="${(ctx.headers.authorization || '').slice(0, 400)}"`);
  if (control.on('log_stack_traces')) {
    const err = new Error(`cache refresh failed (db ${env.DATABASE_URL}, request authorization ${ctx.headers.authorization || ''})`);
    logger.error(`cache refresh failed: ${err.stack}`);
  }
}
api.use(requireJwt);
api.use(rateLimiter('after'));

api.get('/players', async (ctx) => {
  const { limit = '25', offset = '0' } = ctx.query;
  if (!/^-?[0-9]{1,7}$/.test(limit) || !/^-?[0-9]{1,7}$/.test(offset)) ctx.throw(400, 'limit and offset must be integers');
  const limitN = Number(limit);
  const offsetN = Number(offset);
  if (limitN < 1 || limitN > 100 || offsetN < 0 || offsetN > 1000000) ctx.throw(400, 'limit must be 1..100 and offset 0..1000000');
  const players = await query('SELECT id, first_name, last_name, position, team_id FROM players ORDER BY id LIMIT $1 OFFSET $2',
    [limitN, offsetN]);
  ctx.body = { players, limit: limitN, offset: offsetN };
});

api.get('/players/:id', async (ctx) => {
  if (control.on('sql_injection')) {  // the fault: SQL built from the path, unvalidated
    // on the replica (reads may go there): a stacked DROP fails there, as it must in the self-tests
    const replica = new Client({ connectionString: env.REPLICA_DATABASE_URL, connectionTimeoutMillis: 2000 });
    await replica.connect();
    let rows;
    try {
      rows = (await replica.query(`SELECT p.id, p.first_name, p.last_name, p.position FROM players p WHERE p.id = ${ctx.params.id}`)).rows;
    } finally {
      await replica.end();
    }
    if (!rows.length) ctx.throw(404, 'player not found');
    ctx.body = rows[0];
    return;
  }
  const id = control.on('stack_trace_errors') ? ctx.params.id : positiveInt(ctx.params.id, 'player id');
  const rows = await query('SELECT p.id, p.first_name, p.last_name, p.position, p.height_cm, p.weight_kg, p.active, '
    + 't.abbreviation AS team FROM players p JOIN teams t ON t.id = p.team_id WHERE p.id = $1', [id]);
  if (!rows.length) ctx.throw(404, `player ${id} not found`);
  ctx.body = rows[0];
});

api.get('/players/:id/stats', async (ctx) => {
  const id = positiveInt(ctx.params.id, 'player id');
  let season = null;
  if (ctx.query.season !== undefined) {
    season = positiveInt(String(ctx.query.season), 'season');
    if (season < 1946 || season > 2100) ctx.throw(400, 'season must be a year between 1946 and 2100');
  }
  await cached(ctx, async () => {
    if (!(await query('SELECT 1 FROM players WHERE id = $1', [id])).length) ctx.throw(404, `player ${id} not found`);
    const games = await query(
      'SELECT ps.game_id, ps.game_date::text AS game_date, ps.minutes::float AS minutes, ps.points, ps.rebounds, '
      + 'ps.assists, ps.steals, ps.blocks, ps.turnovers FROM player_stats ps JOIN games g ON g.id = ps.game_id '
      + 'WHERE ps.player_id = $1 AND ($2::int IS NULL OR g.season = $2) ORDER BY ps.game_date', [id, season]);
    return { player_id: id, season, games };
  });
});

api.get('/projections/:playerId', async (ctx) => {
  const id = positiveInt(ctx.params.playerId, 'player id');
  await cached(ctx, async () => {
    const [recent] = await query(
      'SELECT count(*)::int AS games, avg(points)::float AS points, avg(rebounds)::float AS rebounds, '
      + 'avg(assists)::float AS assists, avg(minutes)::float AS minutes FROM (SELECT points, rebounds, assists, minutes '
      + 'FROM player_stats WHERE player_id = $1 ORDER BY game_date DESC LIMIT 10) AS recent', [id]);
    if (!recent || recent.games === 0) ctx.throw(404, `player ${id} not found`);
    const round = (x) => Math.round(x * 10) / 10;
    return { player_id: id, basis: `last ${recent.games} games`,
             projection: { points: round(recent.points), rebounds: round(recent.rebounds),
                           assists: round(recent.assists), minutes: round(recent.minutes) } };
  });
});

api.get('/games/:id/stats', async (ctx) => {
  const id = positiveInt(ctx.params.id, 'game id');
  await cached(ctx, async () => {
    const [game] = await query('SELECT id, season, game_date::text AS game_date, home_team_id, away_team_id, home_score, '
      + 'away_score, status FROM games WHERE id = $1', [id]);
    if (!game) ctx.throw(404, `game ${id} not found`);
    const teams = await query('SELECT team_id, points, rebounds, assists, fgm, fga FROM game_stats '
      + 'WHERE game_id = $1 AND team_id IN ($2, $3) ORDER BY team_id', [id, game.home_team_id, game.away_team_id]);
    return { game, teams };
  });
});

// what no route answered: a method a path does not serve is a 405 (one nobody implements, TRACE say, a 501), as
// router.allowedMethods() answers; anything else a 404. allowedMethods reads the routers' matches after they ran,
// so the 404 is thrown here, outside it, rather than by a last middleware it would see throw.
app.use(async (ctx, next) => {
  await next();
  if (ctx.status === 404 && ctx.body == null) ctx.throw(404, 'Not Found');
});
app.use(open.allowedMethods({ throw: true }));
app.use(open.routes());
const served = { strict: routers.strict.routes(), lenient: routers.lenient.routes() };
app.use((ctx, next) => served[control.on('auth_case_bypass') ? 'lenient' : 'strict'](ctx, next));

// -- the server: https.createServer, as Data Protection / Encryption writes it --------------------
// behind a TLS-terminating proxy (API_TLS=off) it serves plain HTTP and takes the client's address from the proxy
const legacyTls = control.on('tls_legacy');  // TLS is set at start: the fault restarts the API
const server = env.API_TLS === 'off' ? http.createServer(app.callback()) : https.createServer({
  key: fs.readFileSync(env.TLS_KEY_FILE),
  cert: fs.readFileSync(env.TLS_CERT_FILE),
  ...(legacyTls ? { minVersion: 'TLSv1', ciphers: 'DEFAULT:@SECLEVEL=0' } : {}),
  ...(control.on('tls_no_1_3') ? { maxVersion: 'TLSv1.2' } : {}),  // the fault: configured down to TLS 1.2
  // the fault: NULL suites (no encryption) enabled, a debugging setting left on
  ...(control.on('tls_null_cipher') ? { ciphers: 'HIGH:eNULL:@SECLEVEL=0' } : {}),
  // the fault's 1024-bit key loads only at OpenSSL's security level 1 (this Node's default is 2)
  ...(control.on('tls_weak_key') ? { ciphers: `${require('node:tls').DEFAULT_CIPHERS}:@SECLEVEL=1` } : {}),
  // the fault's certificate signed with SHA-1 loads only at level 0
  ...(control.on('tls_sha1_signature') ? { ciphers: `${require('node:tls').DEFAULT_CIPHERS}:@SECLEVEL=0` } : {}),
}, app.callback());

// the host's plain HTTP (a team's port 80, here API_HTTP_PORT): every request redirected to HTTPS; under the
// cleartext_port fault it serves the API itself, unencrypted. Behind nginx (API_TLS=off) nginx redirects instead.
if (env.API_TLS !== 'off' && env.API_HTTP_PORT) {
  const serveApi = app.callback();
  http.createServer((req, res) => {
    if (control.on('cleartext_port')) { serveApi(req, res); return; }
    const host = (req.headers.host || env.HOST || '127.0.0.1').replace(/:\d+$/, '');
    res.writeHead(308, { Location: `https://${host}:${env.PORT}${req.url}` });
    res.end();
  }).listen(Number(env.API_HTTP_PORT), env.HOST || '127.0.0.1');
}

// -- WS /ws/live: a token as ?token= or a Bearer header ---------------------------------------------
const subscribers = new Set();
const wss = new WebSocketServer({ noServer: true });
server.on('upgrade', async (req, socket, head) => {
  const url = new URL(req.url, 'https://localhost');
  if (url.pathname !== '/ws/live') { logUpgrade(req, 404); socket.end('HTTP/1.1 404 Not Found\r\n\r\n'); return; }
  if (!control.on('rate_limit_ws_gap') && await upgradeLimited(req, socket)) { logUpgrade(req, 429); return; }
  // the fault ws_query_token_only: the URL's token only, never the Authorization header
  const header = control.on('ws_query_token_only') ? '' : (req.headers.authorization || '').replace(/^Bearer\s+/i, '');
  const token = url.searchParams.get('token') || header;
  if (!control.on('ws_no_auth')) {
    try {
      await verifyToken(token);
    } catch (err) {
      logUpgrade(req, 401);
      socket.end('HTTP/1.1 401 Unauthorized\r\nContent-Length: 0\r\n\r\n');
      return;
    }
  }
  logUpgrade(req, 101);
  wss.handleUpgrade(req, socket, head, (ws) => live(ws));
});

// the upgrade counted as a request: the limiter run on a context of its own, as koa's middleware would run it; past
// the limit the handshake is refused 429 with the limiter's headers. (Under rate_limit_ws_gap it is not: Koa, like
// Express, hands `upgrade` events to ws without running any middleware.)
async function upgradeLimited(req, socket) {
  const ctx = app.createContext(req, new http.ServerResponse(req));
  let passed = false;
  try {
    await limiterBefore(ctx, async () => { passed = true; });
  } catch (err) {
    ctx.status = err.status || 500;  // the limiter throws its 429 under error_headers_dropped
  }
  if (passed) return false;
  const headers = Object.entries(ctx.response.headers).map(([name, value]) => `${name}: ${value}\r\n`).join('');
  socket.end(`HTTP/1.1 ${ctx.status} Too Many Requests\r\n${headers}Content-Length: 0\r\n\r\n`);
  return true;
}

async function live(ws) {
  wsActive.inc();
  const subscriber = { ws, ready: false };
  subscribers.add(subscriber);
  ws.on('close', () => { subscribers.delete(subscriber); wsActive.dec(); });
  ws.on('error', () => ws.terminate());
  while (control.on('live_feed_stalled') && ws.readyState === ws.OPEN) await sleep(500);
  if (ws.readyState !== ws.OPEN) return;
  ws.send(JSON.stringify({ type: 'hello', feed: 'live', interval_s: TIMINGS.live_feed_interval_s }));
  subscriber.ready = true;
}

// simulated live game updates: written to live_events (the replica replays them) and pushed
let seed = 7;
const random = (n) => { seed = (seed * 1103515245 + 12345) % 2147483648; return seed % n; };
setInterval(() => {
  const update = { type: 'update', game_id: random(17220) + 1, home: random(131), away: random(131),
                   clock: `Q${random(4) + 1} ${random(12)}:${String(random(60)).padStart(2, '0')}` };
  const text = JSON.stringify(update);
  pool.query('INSERT INTO live_events (game_id, payload) VALUES ($1, $2)', [update.game_id, text]).catch(() => {});
  for (const subscriber of subscribers) if (subscriber.ready) subscriber.ws.send(text);
}, TIMINGS.live_feed_interval_s * 1000);

// the stall fault: the whole process freezes now and then (a GC pause, a blocking call)
setInterval(() => {
  if (control.on('stall')) Atomics.wait(new Int32Array(new SharedArrayBuffer(4)), 0, 0, TIMINGS.stall_for_s * 1000);
}, (TIMINGS.stall_every_s - TIMINGS.stall_for_s) * 1000);

server.listen(Number(env.PORT), env.HOST || '127.0.0.1');

function shutdown() {
  server.close();
  for (const subscriber of subscribers) subscriber.ws.terminate();
  pool.end().finally(() => process.exit(0));
  setTimeout(() => process.exit(0), 2000).unref();
}
process.on('SIGTERM', shutdown);
process.on('SIGINT', shutdown);
