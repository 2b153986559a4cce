--- TLS against a scripted peer (spec/support/tlspeer.py): the server's
--- proof of a certificate nobody signed (MariaDB 11.4's zero-configuration
--- TLS), a man in the middle, pinned fingerprints, a stalled or garbled TLS
--- handshake, a server without TLS; and TLS files that cannot be used,
--- which fail before any server is asked.

local mylua = require "mylua"
local helpers = require "helpers"

local raises = helpers.raises

local here = debug.getinfo(1, "S").source:match("^@(.*)[/\\]") or "."
local peer_script = here .. "/support/tlspeer.py"
local q = helpers.shell_quote

-- Certificates made for this run, in a directory of their own.
local certs

local function sh(cmd)
  local ok = os.execute(cmd .. " >/dev/null 2>&1")
  assert(ok, "failed: " .. cmd)
end

local function make_certs()
  local dir = os.tmpname()
  os.remove(dir)
  sh("mkdir -m 700 " .. q(dir))
  local function path(name) return dir .. "/" .. name end
  local ec = "-newkey ec -pkeyopt ec_paramgen_curve:prime256v1 -nodes"
  -- a CA, and a server certificate it signs for localhost and 127.0.0.1
  sh(("openssl req -x509 %s -keyout %s -out %s -days 2 -subj /CN=mylua-test-ca")
     :format(ec, q(path "ca-key.pem"), q(path "ca.pem")))
  sh(("openssl req %s -keyout %s -out %s -subj /CN=localhost")
     :format(ec, q(path "server-key.pem"), q(path "server.csr")))
  local f = assert(io.open(path "ext.cnf", "w"))
  f:write("subjectAltName=DNS:localhost,IP:127.0.0.1\n")
  f:close()
  sh(("openssl x509 -req -in %s -CA %s -CAkey %s -CAcreateserial -out %s -days 2 -extfile %s")
     :format(q(path "server.csr"), q(path "ca.pem"), q(path "ca-key.pem"),
             q(path "server.pem"), q(path "ext.cnf")))
  -- signed by the same CA, for another host
  sh(("openssl req %s -keyout %s -out %s -subj /CN=db.example.com")
     :format(ec, q(path "elsewhere-key.pem"), q(path "elsewhere.csr")))
  f = assert(io.open(path "ext.cnf", "w"))
  f:write("subjectAltName=DNS:db.example.com\n")
  f:close()
  sh(("openssl x509 -req -in %s -CA %s -CAkey %s -CAcreateserial -out %s -days 2 -extfile %s")
     :format(q(path "elsewhere.csr"), q(path "ca.pem"), q(path "ca-key.pem"),
             q(path "elsewhere.pem"), q(path "ext.cnf")))
  -- a client certificate the CA signs
  sh(("openssl req %s -keyout %s -out %s -subj /CN=script-client")
     :format(ec, q(path "client-key.pem"), q(path "client.csr")))
  sh(("openssl x509 -req -in %s -CA %s -CAkey %s -CAcreateserial -out %s -days 2")
     :format(q(path "client.csr"), q(path "ca.pem"), q(path "ca-key.pem"), q(path "client.pem")))
  -- revocation lists: an empty one, then one revoking the server's certificate
  f = assert(io.open(path "ca.cnf", "w"))
  f:write(("[ca]\ndefault_ca = d\n[d]\ndatabase = %s\ncrlnumber = %s\ndefault_md = sha256\n"
           .. "default_crl_days = 2\n"):format(path "index.txt", path "crlnumber"))
  f:close()
  for name, text in pairs { ["index.txt"] = "", crlnumber = "01\n" } do
    f = assert(io.open(path(name), "w"))
    f:write(text)
    f:close()
  end
  local ca_cmd = ("openssl ca -batch -config %s -keyfile %s -cert %s ")
                 :format(q(path "ca.cnf"), q(path "ca-key.pem"), q(path "ca.pem"))
  sh(ca_cmd .. "-gencrl -out " .. q(path "crl-empty.pem"))
  sh(ca_cmd .. "-revoke " .. q(path "server.pem"))
  sh(ca_cmd .. "-gencrl -out " .. q(path "crl.pem"))
  sh("mkdir " .. q(path "crls") .. " && cp " .. q(path "crl.pem") .. " " .. q(path "crls/")
     .. " && openssl rehash " .. q(path "crls"))
  -- self-signed, as a server makes for itself; and another one, someone else's
  for _, name in ipairs { "self", "mitm" } do
    sh(("openssl req -x509 %s -keyout %s -out %s -days 2 -subj /CN=%s -addext subjectAltName=IP:127.0.0.1")
       :format(ec, q(path(name .. "-key.pem")), q(path(name .. ".pem")), name))
  end
  -- a client key protected by a passphrase, and its certificate
  sh(("openssl genpkey -algorithm EC -pkeyopt ec_paramgen_curve:prime256v1 -aes256 -pass pass:secret -out %s")
     :format(q(path "locked-key.pem")))
  sh(("openssl req -x509 -key %s -passin pass:secret -out %s -days 2 -subj /CN=client")
     :format(q(path "locked-key.pem"), q(path "locked.pem")))
  f = assert(io.open(path "junk.pem", "w"))
  f:write("-----BEGIN CERTIFICATE-----\nnot base64 at all\n-----END CERTIFICATE-----\n")
  f:close()
  return dir
end

local function fingerprint(name, algo)
  local p = assert(io.popen(("openssl x509 -noout -fingerprint -%s -in %s")
                            :format(algo or "sha256", q(certs .. "/" .. name .. ".pem"))))
  local out = p:read("a")
  p:close()
  return assert(out:match("=([%x:]+)"), out)
end

-- One peer serves the whole file: each connection gets the scenario named
-- last, and its lines go to a log the next start() empties (tlspeer.py any).
-- start(scenario) returns the peer: p.port; p:value(key) waits for the
-- connection's `key=` line; p:lines() waits for its end and returns them all.
local server

local Peer = {}
Peer.__index = Peer

local function write_file(path, text)
  local f = assert(io.open(path, "w"))
  f:write(text)
  f:close()
end

local function start(scenario)
  if not server then
    local pipe = assert(io.popen(("echo $$; exec python3 %s any %s")
                                 :format(q(peer_script), q(certs))))
    server = setmetatable({ pipe = pipe, pid = tonumber(pipe:read("l")) }, Peer)
    server.port = tonumber(pipe:read("l"))
    assert(server.pid and server.port, "tlspeer did not start")
  end
  write_file(certs .. "/log", "")
  write_file(certs .. "/scenario", scenario .. "\n")
  return server
end

-- The log's lines once `until_key` shows up (within 5 s).
local function log_until(until_key)
  local deadline = helpers.now() + 5
  repeat
    local lines, f = {}, assert(io.open(certs .. "/log"))
    for l in f:lines() do lines[#lines + 1] = l end
    f:close()
    for _, l in ipairs(lines) do
      if l == until_key or l:match("^" .. until_key .. "=") then return lines end
    end
    os.execute("sleep 0.05")
  until helpers.now() > deadline
  error("the peer never printed " .. until_key)
end

function Peer:value(key)
  for _, l in ipairs(log_until(key)) do
    local v = l:match("^" .. key .. "=(.*)$")
    if v then return v end
  end
end

function Peer:lines() return table.concat(log_until("done"), "\n") end

local function stop_all()
  if not server then return end
  os.execute("kill " .. math.tointeger(server.pid) .. " 2>/dev/null")
  server.pipe:close()
  server = nil
end

local function options(p, ssl, extra)
  local o = {
    host = "127.0.0.1", port = p and p.port or 1, user = "u", password = "p",
    connect_timeout = 3, read_timeout = 3, ssl = ssl,
  }
  for k, v in pairs(extra or {}) do o[k] = v end
  return o
end

setup(function() certs = make_certs() end)
teardown(function()
  stop_all()
  if certs then os.execute("rm -rf " .. q(certs)) end
end)

describe("the server's proof of a self-signed certificate", function()
  for _, mode in ipairs { "verify_ca", "verify_identity", "preferred" } do
    it("is accepted in " .. mode .. ", and the session works over TLS", function()
      local p = start("proof")
      local db = mylua.connect(options(p, { mode = mode }))
      assert.equal("32", p:value("ssl_request"), "the SSL request is a 32-byte packet")
      assert.equal("server proof", db.tls.verified)
      assert.equal("/CN=self", db.tls.subject)
      assert.equal(fingerprint("self"), db.tls.fingerprint)
      assert.truthy(db.tls.version:match("^TLSv1%.[23]$"), db.tls.version)
      assert.equal(1, db:query("SELECT 1"):row(1, "a")[1])
      db:close()
      assert.truthy(p:lines():find("login=u\nauth=ok", 1, true))
    end)
  end

  it("is over the scramble of an auth switch when the login switched", function()
    local p = start("switch")
    local db = mylua.connect(options(p, "verify_ca"))
    assert.equal("server proof", db.tls.verified)
    db:close()
  end)

  it("is not needed when a CA vouches for the certificate", function()
    local p = start("proof_ca")
    local db = mylua.connect(options(p, { mode = "verify_identity", ca = certs .. "/ca.pem" }))
    assert.equal("ca", db.tls.verified)
    assert.equal("/CN=mylua-test-ca", db.tls.issuer)
    db:close()
  end)

  it("is not what a given CA trusts: a CA given means verify_ca, refused before the login", function()
    for _, ssl in ipairs { { ca = certs .. "/ca.pem" }, { mode = "verify_identity", ca = certs .. "/ca.pem" } } do
      local p = start("proof")
      local err = raises(2026, mylua.connect, options(p, ssl))
      assert.truthy(err.message:find("not trusted by ssl_ca '" .. certs .. "/ca.pem'", 1, true), err.message)
      local seen = p:lines()
      assert.truthy(seen:find("tls=ok", 1, true), seen)
      assert.falsy(seen:find("login=", 1, true), "the client logged in: " .. seen)
    end
  end)
end)

describe("a CA from the host program's defaults", function()
  -- what the mylua program puts there from --ssl-ca or an option file
  local registry = debug.getregistry()
  after_each(function() registry["mylua.host_defaults"] = nil end)

  it("implies verify_ca too, unless the script names a mode", function()
    registry["mylua.host_defaults"] = { ssl_ca = certs .. "/ca.pem" }
    local p = start("proof")
    local err = raises(2026, mylua.connect, options(p))
    assert.truthy(err.message:find("not trusted by ssl_ca", 1, true), err.message)
    p = start("proof")
    local db = mylua.connect(options(p, "preferred"))
    assert.equal("server proof", db.tls.verified)
    db:close()
  end)
end)

describe("the server's name", function()
  it("must be on a CA-signed certificate in verify_identity, and no proof excuses it", function()
    local p = start("elsewhere")
    local err = raises(2026, mylua.connect, options(p, { mode = "verify_identity", ca = certs .. "/ca.pem" }))
    assert.truthy(err.message:find("not valid", 1, true), err.message)
    assert.truthy(err.message:find("mismatch", 1, true), err.message)
    assert.truthy(err.message:find("127.0.0.1", 1, true), err.message)
    assert.falsy(p:lines():find("login=", 1, true), "the client logged in")
  end)

  it("is not checked in verify_ca", function()
    local p = start("elsewhere")
    local db = mylua.connect(options(p, { mode = "verify_ca", ca = certs .. "/ca.pem" }))
    assert.equal("ca", db.tls.verified)
    assert.equal("/CN=db.example.com", db.tls.subject)
    db:close()
  end)
end)

describe("the session's parameters", function()
  it("follow tls_version and ssl_cipher (TLS 1.2)", function()
    local p = start("proof_ca")
    local db = mylua.connect(options(p, { ca = certs .. "/ca.pem", tls_version = "TLSv1.2",
                                          cipher = "ECDHE-ECDSA-AES128-GCM-SHA256" }))
    assert.equal("TLSv1.2", db.tls.version)
    assert.equal("ECDHE-ECDSA-AES128-GCM-SHA256", db.tls.cipher)
    db:close()
  end)

  it("follow ssl_ciphersuites (TLS 1.3)", function()
    local p = start("proof_ca")
    local db = mylua.connect(options(p, { ca = certs .. "/ca.pem", tls_version = "TLSv1.3",
                                          ciphersuites = "TLS_CHACHA20_POLY1305_SHA256" }))
    assert.equal("TLSv1.3", db.tls.version)
    assert.equal("TLS_CHACHA20_POLY1305_SHA256", db.tls.cipher)
    db:close()
  end)

  it("include the client certificate when one is given", function()
    local p = start("proof_ca")
    local db = mylua.connect(options(p, { ca = certs .. "/ca.pem", cert = certs .. "/client.pem",
                                          key = certs .. "/client-key.pem" }))
    assert.equal("script-client", p:value("client_cert"))
    db:close()
  end)
end)

describe("revocation lists", function()
  it("that do not list the certificate let it through", function()
    local p = start("proof_ca")
    local db = mylua.connect(options(p, { ca = certs .. "/ca.pem", crl = certs .. "/crl-empty.pem" }))
    assert.equal("ca", db.tls.verified)
    db:close()
  end)

  it("refuse a revoked certificate, from a file or a directory, whatever the proof", function()
    for _, where in ipairs { { crl = certs .. "/crl.pem" }, { crlpath = certs .. "/crls" } } do
      local ssl = { mode = "verify_ca", ca = certs .. "/ca.pem" }
      for k, v in pairs(where) do ssl[k] = v end
      local p = start("proof_ca")
      local err = raises(2026, mylua.connect, options(p, ssl))
      assert.truthy(err.message:find("revoked", 1, true), err.message)
    end
  end)
end)

describe("a man in the middle", function()
  for _, mode in ipairs { "verify_ca", "verify_identity", "preferred", "required" } do
    it("relaying the real server's proof is refused in " .. mode, function()
      local p = start("mitm")
      local err = raises(2026, mylua.connect, options(p, mode))
      assert.truthy(err.message:find("SSL connection error: ", 1, true), err.message)
      assert.truthy(err.message:find("proof does not match", 1, true), err.message)
      assert.truthy(err.message:find(fingerprint("mitm"), 1, true), err.message)
    end)
  end
end)

describe("a certificate without a proof", function()
  it("is refused in verify_ca", function()
    local p = start("no_proof")
    local err = raises(2026, mylua.connect, options(p, "verify_ca"))
    assert.truthy(err.message:find("not trusted", 1, true), err.message)
    assert.truthy(err.message:find("no proof", 1, true), err.message)
  end)

  it("is accepted, unverified, in preferred (servers before MariaDB 11.4)", function()
    local p = start("no_proof")
    local db = mylua.connect(options(p))
    assert.is_false(db.tls.verified)
    assert.equal(1, db:query("SELECT 1"):row(1, "a")[1])
    db:close()
  end)

  it("is refused in verify_ca before the login when there is no password to prove it with", function()
    local p = start("no_proof")
    local err = raises(2026, mylua.connect, options(p, "verify_ca", { password = "" }))
    assert.truthy(err.message:find("empty password", 1, true), err.message)
    assert.falsy(p:lines():find("login=", 1, true), "the client logged in")
  end)
end)

describe("a pinned fingerprint", function()
  it("that matches verifies the certificate", function()
    local p = start("no_proof")
    local db = mylua.connect(options(p, { mode = "verify_identity", fingerprint = fingerprint("self") }))
    assert.equal("fingerprint", db.tls.verified)
    db:close()
  end)

  it("may be SHA-1, without colons, in lower case", function()
    local p = start("no_proof")
    local pin = fingerprint("self", "sha1"):gsub(":", ""):lower()
    local db = mylua.connect(options(p, { mode = "verify_ca", fingerprint = pin }))
    assert.equal("fingerprint", db.tls.verified)
    db:close()
  end)

  it("that does not match is refused, naming the fingerprint seen", function()
    local p = start("proof")
    local err = raises(2026, mylua.connect, options(p, { fingerprint = fingerprint("mitm") }))
    assert.truthy(err.message:find("matches no pinned fingerprint", 1, true), err.message)
    assert.truthy(err.message:find(fingerprint("self"), 1, true), err.message)
    assert.falsy(p:lines():find("login=", 1, true), "the client logged in")
  end)

  it("can come from a list file with comments", function()
    local list = certs .. "/pins.txt"
    local f = assert(io.open(list, "w"))
    f:write("# servers of the shop\n\n", fingerprint("mitm"), "\n  ", fingerprint("self"), "  \n")
    f:close()
    local p = start("no_proof")
    local db = mylua.connect(options(p, { mode = "verify_ca", fingerprint_list = list }))
    assert.equal("fingerprint", db.tls.verified)
    db:close()
    f = assert(io.open(list, "w"))
    f:write("# only someone else\n", fingerprint("mitm"), "\n")
    f:close()
    p = start("no_proof")
    local err = raises(2026, mylua.connect, options(p, { mode = "verify_ca", fingerprint_list = list }))
    assert.truthy(err.message:find("matches no pinned fingerprint", 1, true), err.message)
  end)

  it("given without a mode means verify_ca: never a plain connection", function()
    local p = start("plain")
    local err = raises(2026, mylua.connect, options(p, { fingerprint = fingerprint("self") }))
    assert.truthy(err.message:find("does not offer it", 1, true), err.message)
  end)

  it("that is malformed is refused before connecting", function()
    local err = raises(2026, mylua.connect, options(nil, { fingerprint = "AB:CD" }))
    assert.truthy(err.message:find("ssl_fingerprint 'AB:CD'", 1, true), err.message)
  end)
end)

describe("a TLS handshake that goes wrong", function()
  it("cannot hold connect past connect_timeout when the server stalls", function()
    local p = start("stall")
    local err, elapsed = raises(2013, mylua.connect,
                                options(p, "required", { connect_timeout = 1, read_timeout = 10 }))
    assert.truthy(err.message:find("timed out", 1, true), err.message)
    assert.truthy(err.message:find("TLS handshake", 1, true), err.message)
    assert.is_true(elapsed < 2, "took " .. elapsed .. " s")
  end)

  it("is a clear 2026 when the server answers with no TLS at all", function()
    local p = start("garbage")
    local err, elapsed = raises(2026, mylua.connect, options(p, "required"))
    assert.truthy(err.message:find("SSL connection error: TLS handshake failed", 1, true), err.message)
    assert.is_true(elapsed < 2, "took " .. elapsed .. " s")
  end)

  it("is refused when bytes came before it, which would be taken for TLS", function()
    local p = start("early")
    local err = raises(2026, mylua.connect, options(p, "required"))
    assert.truthy(err.message:find("data before the TLS handshake", 1, true), err.message)
  end)

  it("is 2026 in required when the server offers no TLS, and plain text in preferred", function()
    local p = start("plain")
    local err = raises(2026, mylua.connect, options(p, "required"))
    assert.truthy(err.message:find("does not offer it", 1, true), err.message)
    p = start("plain")
    local db = mylua.connect(options(p))
    assert.is_nil(db.tls)
    assert.equal(1, db:query("SELECT 1"):row(1, "a")[1])
    db:close()
  end)
end)

describe("TLS over a faulty network (the fault layer under it)", function()
  local fault = require "mylua_fault"

  local function faulty(p, cfg, ssl, extra)
    local o = options(p, ssl, extra)
    o.transport = fault.opener(cfg)
    return o
  end

  it("works when every read returns one byte", function()
    local p = start("proof")
    local db = mylua.connect(faulty(p, { short_reads = true }, "verify_identity"))
    assert.equal("server proof", db.tls.verified)
    assert.equal(1, db:query("SELECT 1"):row(1, "a")[1])
    db:close()
  end)

  it("fails the handshake with OpenSSL's reason when a byte of it is corrupted", function()
    local p = start("proof")
    local err = raises(2026, mylua.connect, faulty(p, { corrupt_at = 400 }, "required"))
    assert.truthy(err.message:find("SSL connection error: TLS handshake failed: ", 1, true), err.message)
  end)

  it("is a lost connection, not a TLS error, when the connection drops mid-handshake", function()
    local p = start("proof")
    local err = raises(2013, mylua.connect, faulty(p, { drop_after = 150 }, "required"))
    assert.truthy(err.message:find("TLS handshake", 1, true), err.message)
    assert.truthy(err.message:find("closed", 1, true), err.message)
  end)

  it("keeps the handshake within connect_timeout on a slow network", function()
    local p = start("proof")
    local err, elapsed = raises(2013, mylua.connect,
                                faulty(p, { delay_ms = 450 }, "required", { connect_timeout = 1 }))
    assert.truthy(err.message:find("timed out", 1, true), err.message)
    assert.is_true(elapsed < 1.6, "took " .. elapsed .. " s")
  end)
end)

describe("reading over TLS", function()
  it("is bounded by read_timeout, and the timeout says so", function()
    local p = start("deaf")
    local db = mylua.connect(options(p, "verify_ca", { read_timeout = 1 }))
    assert.equal("server proof", db.tls.verified)
    local err, elapsed = raises(2013, db.query, db, "SELECT 1")
    assert.truthy(err.message:find("timed out", 1, true), err.message)
    assert.is_true(elapsed < 1.6, "took " .. elapsed .. " s")
    assert.is_true(db.broken)
    db:close()
  end)
end)

describe("writing over TLS", function()
  it("to a server that refused the statement and closed still reads why", function()
    local p = start("parting")
    local db = mylua.connect(options(p, "verify_ca"))
    local err = raises(1153, db.query, db, "SELECT '" .. ("x"):rep(8 * 1024 * 1024) .. "'")
    assert.truthy(err.message:find("max_allowed_packet", 1, true), err.message)
    assert.is_true(db.broken)
    db:close()
  end)
end)

describe("TLS files that cannot be used", function()
  -- no peer: these fail before anything is connected (port 1 would refuse)
  local function refused(ssl, text)
    local err = raises(2026, mylua.connect, options(nil, ssl))
    assert.truthy(err.message:find(text, 1, true), err.message)
    return err
  end

  it("a key protected by a passphrase, named, never prompting", function()
    refused({ mode = "required", cert = certs .. "/locked.pem", key = certs .. "/locked-key.pem" },
            "ssl_key '" .. certs .. "/locked-key.pem' is protected by a passphrase")
  end)

  it("a missing CA file, named", function()
    refused({ ca = certs .. "/nowhere.pem" }, "cannot read ssl_ca '" .. certs .. "/nowhere.pem'")
  end)

  it("a malformed PEM, named", function()
    refused({ ca = certs .. "/junk.pem" }, "ssl_ca '" .. certs .. "/junk.pem'")
    refused({ mode = "required", cert = certs .. "/junk.pem", key = certs .. "/self-key.pem" },
            "ssl_cert '" .. certs .. "/junk.pem'")
  end)

  it("a key that is not the certificate's", function()
    refused({ mode = "required", cert = certs .. "/self.pem", key = certs .. "/mitm-key.pem" },
            "does not match ssl_cert")
  end)

  it("an unknown TLS version", function()
    refused({ mode = "required", tls_version = "TLSv1.2,SSLv3" }, "unknown version 'SSLv3'")
  end)
end)
