'use strict';
// Benchmark peer: the same workloads as scripts/bench/peer.lua, written with
// Node.js and the mysql2 driver (its promise API, as most programs use it;
// the stream workload uses the streaming query of the connection beneath).
// scripts/bench/run drives it when mysql2 can be loaded; it is never
// installed into this repository: point NODE_PATH at a node_modules
// directory that has it (run's --node-modules DIR does that).
//
//   node scripts/bench/peer_mysql2.js WORKLOAD   (fetch, stream, point, insert, connect,
//                                                 each optionally with -tls, -zlib or -tls-zlib;
//                                                 connect-sha2, connect-peer;
//                                                 point-prep, fetch-prep)
//
// -tls: ssl = { ca: the file in MYLUA_BENCH_SSL_CA, rejectUnauthorized: false }
// (encrypted, the chain computed but a failure not fatal, the name not
// checked; mylua uses mode "required" with the CA);
// -zlib: compress = true.
// point-prep, fetch-prep: point and fetch through conn.execute (prepared
// statements, the binary protocol).
// connect-sha2 and connect-peer log in as peer.lua says
// (MYLUA_BENCH_MYSQL8_*), connect-sha2 through mysql2's own
// caching_sha2_password. There is no connect-ed25519: mysql2 has no
// client_ed25519 plugin.
//
// The connection and the sizes come from the same environment variables as
// peer.lua (MYLUA_TEST_*, MYLUA_BENCH_*), and it prints the same result
// line: "mysql2 WORKLOAD cpu=... wall=... rss_mb=... ops=... check=...".
// cpu is process.cpuUsage() (user + system CPU of this process, every
// thread) around the timed part alone, wall its elapsed time, rss_mb the
// peak resident size (VmHWM). Rows are objects keyed by column name
// (arrays with MYLUA_BENCH_SHAPE=array); DATETIME values are read as
// strings (dateStrings), since a JavaScript Date drops the microseconds.

let mysql;
try {
  mysql = require('mysql2/promise');
} catch (e) {
  process.stderr.write('peer_mysql2.js: cannot load mysql2 (set NODE_PATH to a node_modules that has it): ' +
                       e.message.split('\n')[0] + '\n');
  process.exit(3);
}
const fs = require('fs');

function die(msg) {
  process.stderr.write('peer_mysql2.js: ' + msg + '\n');
  process.exit(1);
}

function env(name, def) {
  const v = process.env[name];
  return v === undefined || v === '' ? def : v;
}

function envCount(name, def) {
  const s = env(name, def);
  if (!/^[0-9]+$/.test(s) || Number(s) < 1) die(name + ' must be a positive integer');
  return Number(s);
}

const conf = {
  host: env('MYLUA_TEST_HOST', '127.0.0.1'),
  port: Number(env('MYLUA_TEST_PORT', '3306')),
  socket: env('MYLUA_TEST_SOCKET', undefined),
  user: env('MYLUA_TEST_USER', 'mylua'),
  password: env('MYLUA_TEST_PASSWORD', ''),
  database: env('MYLUA_TEST_DB', 'mylua_test'),
  transport: env('MYLUA_BENCH_TRANSPORT', 'tcp'),
  shape: env('MYLUA_BENCH_SHAPE', 'keyed'),
  rows: envCount('MYLUA_BENCH_ROWS', '1000000'),
  point: envCount('MYLUA_BENCH_POINT', '20000'),
  insertRows: envCount('MYLUA_BENCH_INSERT_ROWS', '200000'),
  batch: envCount('MYLUA_BENCH_BATCH', '1000'),
  connects: envCount('MYLUA_BENCH_CONNECTS', '500'),
  check: env('MYLUA_BENCH_CHECK', '1') !== '0',
};
if (conf.transport !== 'tcp' && conf.transport !== 'socket') die('MYLUA_BENCH_TRANSPORT must be tcp or socket');
if (conf.transport === 'socket' && !conf.socket) die('MYLUA_BENCH_TRANSPORT=socket needs MYLUA_TEST_SOCKET');
if (conf.shape !== 'keyed' && conf.shape !== 'array') die('MYLUA_BENCH_SHAPE must be keyed or array');
const asArray = conf.shape === 'array';

const TABLE = 'bench_fetch';
const COLS = ['id', 'a', 'b', 'c', 'd', 'e', 'f', 'g', 'h'];
const SELECT_ALL = 'SELECT * FROM ' + TABLE;
const QUERY_TIMEOUT_MS = 300000;
const INSERT_CHECK_SQL =
  "SELECT CONCAT_WS(':', COUNT(*), SUM(id), SUM(a), SUM(b), SUM(LENGTH(c)), SUM(CRC32(c))," +
  ' CAST(SUM(d * 4) AS SIGNED), SUM(g IS NULL), SUM(g), SUM(LENGTH(h)), SUM(CRC32(h)))' +
  ' FROM bench_insert';

const options = {
  user: conf.user,
  password: conf.password,
  database: conf.database,
  connectTimeout: 10000,
  dateStrings: true,
};
if (conf.transport === 'socket') options.socketPath = conf.socket;
else { options.host = conf.host; options.port = conf.port; }

function cpuNow() {
  const u = process.cpuUsage();
  return (u.user + u.system) / 1e6;
}
function wallNow() {
  return Number(process.hrtime.bigint()) / 1e9;
}
function rssMb() {
  try {
    const m = /VmHWM:\s*(\d+)/.exec(fs.readFileSync('/proc/self/status', 'utf8'));
    if (m) return Number(m[1]) / 1024;
  } catch (e) { /* not Linux: fall back */ }
  return process.resourceUsage().maxRSS / 1024;
}

// The same formulas as peer.lua.
function pointId(i) { return (i * 7919) % conf.rows + 1; }
function insertRow(k) {
  const h = k % 10 === 0 ? "it's a \\ test " + k : 'row ' + k + ' ' + 'x'.repeat(k % 50);
  return [k, (k * 37) % 100003 - 50000, k * 1000003 - 4000000000000,
          'name-' + (k % 1000), k / 4, k % 3 !== 0 ? k : null, h];
}

// C's %.17g.
function g17(x) {
  if (!Number.isFinite(x)) die('not a finite number: ' + x);
  if (x === 0) return Object.is(x, -0) ? '-0' : '0';
  const e = x.toExponential(16);
  const exp = Number(e.slice(e.indexOf('e') + 1));
  const strip = (s) => (s.indexOf('.') >= 0 ? s.replace(/0+$/, '').replace(/\.$/, '') : s);
  if (exp < -4 || exp >= 17) {
    const mant = strip(e.slice(0, e.indexOf('e')));
    const ae = Math.abs(exp);
    return mant + 'e' + (exp < 0 ? '-' : '+') + (ae < 10 ? '0' : '') + ae;
  }
  return strip(x.toFixed(16 - exp));
}

function cents(v) {
  const m = /^(-?)(\d+)\.(\d\d)$/.exec(String(v));
  if (!m) die('not a DECIMAL(12,2): ' + v);
  const c = Number(m[2]) * 100 + Number(m[3]);
  return m[1] === '-' ? -c : c;
}

function toInt(v, what) {
  if (!Number.isSafeInteger(v)) die(what + ': not an integer: ' + v);
  return v;
}

const EXPECTED_TYPES = { id: 'number', a: 'number', b: 'number', c: 'string', d: 'number',
                         e: 'string', f: 'string', g: 'number', h: 'string' };

// The same summary as summarise() in peer.lua.
// mysql2's binary rows (execute) with dateStrings give a DATETIME(6) whose
// microseconds are 0 without its fraction, where the text rows have
// ".000000"; the check puts it back for fetch-prep.
let padDatetime = false;

function summarise(rows) {
  const get = asArray ? (row, i) => row[i] : (row, i) => row[COLS[i]];
  const n = rows.length;
  const s = { ids: 0, a: 0, b: 0n, clen: 0, d: 0, e: 0, fus: 0, flen: 0, gnull: 0, g: 0, hlen: 0 };
  for (let r = 0; r < n; r++) {
    const row = rows[r];
    for (let i = 0; i < COLS.length; i++) {
      const v = get(row, i);
      if (v === null) {
        if (COLS[i] !== 'g') die('row ' + (r + 1) + ': column ' + COLS[i] + ' is NULL');
      } else if (typeof v !== EXPECTED_TYPES[COLS[i]]) {
        die('row ' + (r + 1) + ' column ' + COLS[i] + ': ' + typeof v + ' ' + v);
      }
    }
    s.ids += toInt(get(row, 0), 'id');
    s.a += toInt(get(row, 1), 'a');
    s.b += BigInt(toInt(get(row, 2), 'b'));
    s.clen += Buffer.byteLength(get(row, 3));
    s.d += get(row, 4);
    s.e += cents(get(row, 5));
    let f = get(row, 6);
    if (padDatetime && /^\d{4}-\d\d-\d\d \d\d:\d\d:\d\d$/.test(f)) f += '.000000';
    const us = /^\d{4}-\d\d-\d\d \d\d:\d\d:\d\d\.(\d{6})$/.exec(f);
    if (!us) die('row ' + (r + 1) + ': DATETIME(6) value ' + f);
    s.fus += Number(us[1]);
    s.flen += f.length;
    const g = get(row, 7);
    if (g === null) s.gnull++; else s.g += toInt(g, 'g');
    s.hlen += Buffer.byteLength(get(row, 8));
  }
  let h = 2166136261;
  for (const r of [1, Math.floor((n + 1) / 2), n]) {
    const cells = [];
    for (let i = 0; i < COLS.length; i++) {
      const v = get(rows[r - 1], i);
      let cell = v === null ? 'NULL' : i === 4 ? g17(v) : String(v);
      if (padDatetime && i === 6 && /^\d{4}-\d\d-\d\d \d\d:\d\d:\d\d$/.test(cell)) cell += '.000000';
      cells.push(cell);
    }
    for (const byte of Buffer.from(cells.join(','), 'utf8')) h = Math.imul(h ^ byte, 16777619) >>> 0;
  }
  s.hash = h;
  return s;
}

async function verifyAgainstServer(conn, s, n) {
  const [rows] = await conn.query({
    sql: 'SELECT COUNT(*), SUM(id), SUM(a), SUM(b), SUM(LENGTH(c)), SUM(e * 100),' +
         ' SUM(MICROSECOND(f)), SUM(LENGTH(f)), SUM(g IS NULL), SUM(g), SUM(LENGTH(h)), SUM(d)' +
         ' FROM ' + TABLE,
    rowsAsArray: true,
  });
  const q = rows[0];
  const got = [n, s.ids, s.a, s.b, s.clen, s.e, s.fus, s.flen, s.gnull, s.g, s.hlen];
  const what = ['row count', 'SUM(id)', 'SUM(a)', 'SUM(b)', 'SUM(LENGTH(c))', 'SUM(e)*100',
                'SUM(MICROSECOND(f))', 'SUM(LENGTH(f))', 'NULLs in g', 'SUM(g)', 'SUM(LENGTH(h))'];
  for (let i = 0; i < got.length; i++) {
    const text = String(q[i]);
    if (!/^-?\d+(\.0+)?$/.test(text) || BigInt(text.replace(/\.0+$/, '')) !== BigInt(got[i])) {
      die(what[i] + ' is ' + got[i] + ', the server says ' + text);
    }
  }
  const sd = Number(q[11]);
  if (Math.abs(sd - s.d) > 1e-9 * Math.abs(sd)) die('SUM(d) is ' + g17(s.d) + ', the server says ' + q[11]);
}

// The workload's full name, and for a variant the transport check that
// goes after its own (set by main).
let workloadName = '';
let transportSeen = '';

// The accounts of mysql8peer.py, and what it says of such a login.
const MYSQL8_LOGINS = {
  '-sha2': { user: 'sha2', password: 'sha2-secret', path: 'caching_sha2_password fast' },
  '-peer': { user: 'native', password: 'native-secret', path: 'mysql_native_password' },
};

// How the first connection of connect-sha2 or connect-peer logged in, as
// peer.lua prints it; any other way stops the run.
async function authCheck(conn, want) {
  const [rows] = await conn.query({ sql: "SHOW STATUS LIKE 'peer_auth_path'", rowsAsArray: true });
  const path = rows[0] ? String(rows[0][1]) : '';
  if (path !== want) die('the peer says the login went by "' + path + '", not "' + want + '"');
  return 'auth=' + path.replace(/ /g, '-');
}

function report(workload, c0, w0, c1, w1, ops, check) {
  workload = workloadName;
  if (transportSeen) check += ':' + transportSeen;
  process.stdout.write('mysql2 ' + workload + ' cpu=' + (c1 - c0).toFixed(4) + ' wall=' + (w1 - w0).toFixed(4) +
                       ' rss_mb=' + rssMb().toFixed(1) + ' ops=' + ops + ' check=' + check + '\n');
}

async function settle() {
  if (global.gc) global.gc();
}

// What the server says of this session's transport, as peer.lua prints it.
// A transport other than the workload asks for stops the run.
async function transportCheck(conn, tls, compress) {
  const [rows] = await conn.query({
    sql: "SHOW SESSION STATUS WHERE Variable_name IN ('Ssl_version', 'Ssl_cipher', 'Compression')",
    rowsAsArray: true,
  });
  const st = {};
  for (const [name, value] of rows) st[name] = String(value);
  const seen = st.Ssl_version ? st.Ssl_version + '/' + st.Ssl_cipher : 'none';
  if ((seen !== 'none') !== tls) die("the session's TLS is " + seen + ', the workload asks for ' + (tls ? 'TLS' : 'none'));
  if ((st.Compression === 'ON') !== compress) {
    die("the session's compression is " + st.Compression + ', the workload asks for ' + (compress ? 'ON' : 'OFF'));
  }
  return 'tls=' + seen + ',compression=' + st.Compression;
}

async function main() {
  workloadName = process.argv[2] || '';
  const m = /^(fetch|stream|point|insert|connect)(|-tls|-zlib|-tls-zlib)$/.exec(workloadName) ||
            /^(connect)(-sha2|-peer)$/.exec(workloadName) ||
            /^(point|fetch)(-prep)$/.exec(workloadName);
  if (!m) {
    process.stderr.write('usage: node peer_mysql2.js fetch|stream|point|insert|connect[-tls|-zlib|-tls-zlib]' +
                         '|connect-sha2|connect-peer|point-prep|fetch-prep\n');
    process.exit(2);
  }
  const workload = m[1], variant = m[2];
  // -prep: through prepared statements (conn.execute, the binary protocol;
  // mysql2 keeps the statement in its cache and reuses it).
  const prep = variant === '-prep';
  padDatetime = prep;
  const login = MYSQL8_LOGINS[variant];
  const tls = variant.includes('tls'), compress = variant.includes('zlib');
  if (login) {
    if (conf.transport === 'socket') {
      options.socketPath = env('MYLUA_BENCH_MYSQL8_SOCKET', undefined);
      if (!options.socketPath) die(workloadName + ' over the socket needs MYLUA_BENCH_MYSQL8_SOCKET');
    } else {
      options.host = env('MYLUA_BENCH_MYSQL8_HOST', '127.0.0.1');
      options.port = envCount('MYLUA_BENCH_MYSQL8_PORT', '0');
    }
    options.user = login.user;
    options.password = login.password;
  }
  if (tls) {
    const ca = env('MYLUA_BENCH_SSL_CA', undefined);
    if (!ca) die(workloadName + ' needs MYLUA_BENCH_SSL_CA (the server\'s CA file)');
    options.ssl = { ca: fs.readFileSync(ca), rejectUnauthorized: false };
  }
  if (compress) options.compress = true;
  const conn = await mysql.createConnection(options);
  // mysql8peer.py answers none of transportCheck's queries: it serves no
  // TLS and no compression, and says how the login went.
  const seen = login ? await authCheck(conn, login.path) : await transportCheck(conn, tls, compress);
  if (variant && !prep) transportSeen = seen;
  // Warm the connection and the server's path with a tiny query (the
  // MySQL 8 peer has no tables).
  await conn.query(login ? 'SELECT 1' : 'SELECT COUNT(*) FROM ' + TABLE + ' WHERE id <= 10');
  await settle();

  if (workload === 'fetch') {
    const c0 = cpuNow(), w0 = wallNow();
    const q = { sql: SELECT_ALL, rowsAsArray: asArray, timeout: QUERY_TIMEOUT_MS };
    const [rows] = prep ? await conn.execute(q) : await conn.query(q);
    const c1 = cpuNow(), w1 = wallNow();
    const n = rows.length;
    if (n !== conf.rows) die('fetched ' + n + ' rows, expected ' + conf.rows);
    let check = 'skipped';
    if (conf.check) {
      const s = summarise(rows);
      await verifyAgainstServer(conn, s, n);
      check = [s.ids, s.a, s.b, s.clen, g17(s.d), s.e, s.fus, s.flen, s.gnull, s.g, s.hlen].join(':') +
              ':' + s.hash.toString(16).padStart(8, '0');
    }
    report(workload, c0, w0, c1, w1, n, check);
  } else if (workload === 'stream') {
    let n = 0, ids = 0;
    const c0 = cpuNow(), w0 = wallNow();
    await new Promise((resolve, reject) => {
      conn.connection.query({ sql: SELECT_ALL, rowsAsArray: asArray, timeout: QUERY_TIMEOUT_MS })
        .on('result', asArray ? (row) => { n++; ids += row[0]; } : (row) => { n++; ids += row.id; })
        .on('error', reject)
        .on('end', resolve);
    });
    const c1 = cpuNow(), w1 = wallNow();
    if (n !== conf.rows) die('streamed ' + n + ' rows, expected ' + conf.rows);
    report(workload, c0, w0, c1, w1, n, n + ':' + ids);
  } else if (workload === 'point') {
    let found = 0, ids = 0, as = 0, hs = 0;
    const sql = 'SELECT * FROM ' + TABLE + ' WHERE id = ?';
    const c0 = cpuNow(), w0 = wallNow();
    for (let i = 0; i < conf.point; i++) {
      const [rows] = prep ? await conn.execute(sql, [pointId(i)]) : await conn.query(sql, [pointId(i)]);
      const row = rows[0];
      if (row) {
        found++;
        ids += row.id; as += row.a; hs += Buffer.byteLength(row.h);
      }
    }
    const c1 = cpuNow(), w1 = wallNow();
    if (found !== conf.point) die(found + ' of ' + conf.point + ' point selects found a row');
    report(workload, c0, w0, c1, w1, conf.point, [found, ids, as, hs].join(':'));
  } else if (workload === 'insert') {
    await conn.query('TRUNCATE TABLE bench_insert');
    await settle();
    const sql = 'INSERT INTO bench_insert (id, a, b, c, d, g, h) VALUES ?';
    // The rows are made before the clock starts, as every peer does.
    const batches = [];
    for (let first = 1; first <= conf.insertRows; first += conf.batch) {
      const last = Math.min(first + conf.batch - 1, conf.insertRows);
      const rows = [];
      for (let k = first; k <= last; k++) rows.push(insertRow(k));
      batches.push(rows);
    }
    const c0 = cpuNow(), w0 = wallNow();
    for (const rows of batches) await conn.query(sql, [rows]);
    const c1 = cpuNow(), w1 = wallNow();
    const [rows] = await conn.query({ sql: INSERT_CHECK_SQL, rowsAsArray: true });
    const check = String(rows[0][0]);
    if (!check.startsWith(conf.insertRows + ':')) {
      die('bench_insert holds ' + check + ', expected ' + conf.insertRows + ' rows');
    }
    report(workload, c0, w0, c1, w1, conf.insertRows, check);
  } else if (workload === 'connect') {
    const c0 = cpuNow(), w0 = wallNow();
    for (let i = 0; i < conf.connects; i++) {
      const c = await mysql.createConnection(options);
      await c.end();
    }
    const c1 = cpuNow(), w1 = wallNow();
    report(workload, c0, w0, c1, w1, conf.connects, String(conf.connects));
  }
  await conn.end();
  // Leave at once: tearing down a million rows measures nothing.
  process.exit(0);
}

main().catch((e) => die(String(e && e.stack ? e.stack : e)));
