-- The same protocol work over each stack of transport layers: plain, TLS,
-- compression, TLS + compression over TCP, and the last over the Unix
-- socket too (TLS through the TLS sandbox, verified against the test CA):
-- multiple result sets, a streaming cursor over many rows, values over
-- 16 MiB both ways, KILL QUERY and KILL from another connection while a
-- result streams in.  Then the fault layer (spec/support/fault.c) on the
-- socket, under TLS and under compression: reads of one byte, a
-- connection dropped inside a TLS record or a compressed frame, one
-- corrupted byte; each ends in the right result or a clear error, never a
-- hang.

local mylua = require "mylua"
local helpers = require "helpers"
local fault = require "mylua_fault"

local raises = helpers.raises
local MiB = 1024 * 1024

-- What a connection dropped by the server ends in: 2013, or for TLS the
-- TLS layer's own 2026 when the peer vanished without a close_notify.
local TRANSPORTS = {
  { name = "plain", tls = false, compress = false, lost = { 2013 } },
  { name = "TLS", tls = true, compress = false, lost = { 2013, 2026 } },
  { name = "compression", tls = false, compress = true, lost = { 2013 } },
  { name = "TLS + compression", tls = true, compress = true, lost = { 2013, 2026 } },
  { name = "TLS + compression over the Unix socket", tls = true, compress = true, socket = true,
    lost = { 2013, 2026 } },
}

local function params_for(tr, extra)
  local p
  if tr.tls then
    p = tr.socket and helpers.tls_socket_params() or helpers.tls_params()
    p.ssl = { mode = "verify_identity", ca = helpers.tls_file("ca.pem") }
  else
    p = helpers.params()
    p.ssl = "disabled"
  end
  p.compress = tr.compress
  p.read_timeout = helpers.BIG_READ_TIMEOUT
  for k, v in pairs(extra or {}) do p[k] = v end
  return p
end

local function connect(tr, extra)
  return mylua.connect(params_for(tr, extra))
end

local function scalar(db, sql, ...)
  return db:query(sql, ...):row(1, "a")[1]
end

local function status(db, name)
  return db:query("SHOW SESSION STATUS LIKE ?", name):row(1, "a")[2]
end

-- The connection runs over the layers `tr` names, as the server sees it.
local function assert_transport(tr, db)
  if tr.tls then
    assert.equal("table", type(db.tls))
    assert.equal("ca", db.tls.verified)
    assert.matches("^TLSv1%.[23]$", status(db, "Ssl_version"))
  else
    assert.is_nil(db.tls)
    assert.equal("", status(db, "Ssl_version"))
  end
  if tr.compress then
    assert.equal("zlib", db.compression)
    assert.equal("ON", status(db, "Compression"))
  else
    assert.is_nil(db.compression)
    assert.equal("OFF", status(db, "Compression"))
  end
end

-- The server's count of sessions that ended without a COM_QUIT, read
-- once it stops moving (the server counts when its thread sees the end).
local function aborted_clients(tr)
  local p = tr.tls and helpers.tls_socket_params() or helpers.socket_params()
  p.ssl, p.compress = "disabled", false
  local admin <close> = mylua.connect(p)
  local last
  for _ = 1, 40 do
    local n = math.tointeger(tonumber(admin:query("SHOW GLOBAL STATUS LIKE 'Aborted_clients'")
      :row(1, "a")[2]))
    if n == last then return n end
    last = n
    admin:query("DO SLEEP(0.05)")
  end
  return last
end

local function assert_broken(db)
  raises(2006, db.query, db, "SELECT 1")
  db:close()
end

-- 64 KiB of pseudo-random bytes (farther apart than zlib's window when
-- repeated, so the repetition does not compress either).
local function noise_block()
  local seed = 0x2545F491
  local t = {}
  for i = 1, 64 * 1024 do
    seed = (seed * 1103515245 + 12345) & 0x7FFFFFFF
    t[i] = string.char((seed >> 16) & 0xFF)
  end
  return table.concat(t)
end

-- Reads the stream to its end; the caller expects an error on the way.
local function drain(cur)
  for _ = 1, 100000 do
    if cur:fetch() == nil then return "read to the end" end
  end
  return "still reading"
end

-- A result that streams in slowly: about 2 kB per row, each row taking
-- 10 ms, so the server flushes a few rows at a time and is still running
-- when the other connection acts.
local SLOW_ROWS = "SELECT seq, REPEAT('k', 2000) AS pad, SLEEP(0.01) AS s FROM seq_1_to_3000"

for _, tr in ipairs(TRANSPORTS) do
  describe("over " .. tr.name, function()
    it("the connection is that stack of layers", function()
      local db <close> = connect(tr)
      assert_transport(tr, db)
      assert.equal(3, scalar(db, "SELECT 1 + 2"))
    end)

    it("runs the other commands: ping, select_db, reset, a server error", function()
      local db <close> = connect(tr)
      assert.is_true(db:ping())
      assert.is_true(db:select_db("information_schema"))
      assert.equal("information_schema", scalar(db, "SELECT DATABASE()"))
      assert.is_true(db:select_db(helpers.params().database))
      db:query("SET @x = 42")
      assert.is_true(db:reset())
      assert.equal(mylua.null, scalar(db, "SELECT @x"))
      local err = raises(1146, db.query, db, "SELECT * FROM no_such_table_here")
      assert.equal("42S02", err.sqlstate)
      assert_transport(tr, db)
    end)

    it("closes cleanly: by close, by <close>, by the collector", function()
      local before = aborted_clients(tr)
      local db = connect(tr)
      assert.equal(1, scalar(db, "SELECT 1"))
      assert.is_true(db:close())
      do
        local scoped <close> = connect(tr)
        assert.equal(2, scalar(scoped, "SELECT 2"))
      end
      local dropped = connect(tr)
      assert.equal(3, scalar(dropped, "SELECT 3"))
      dropped = nil -- luacheck: ignore
      collectgarbage()
      collectgarbage()
      assert.equal(before, aborted_clients(tr), "a session ended without COM_QUIT")
    end)

    it("reads multiple result sets", function()
      local db <close> = connect(tr)
      local res = db:query("SELECT 1 AS a; SELECT seq, REPEAT('r', seq % 300) AS s FROM seq_1_to_2000;"
        .. " DO 0; SELECT 'end' AS e")
      assert.same({ 1 }, res:row(1, "a"))
      local rows = res:next_result()
      assert.equal(2000, #rows)
      for i = 1, 2000, 97 do
        assert.same({ i, ("r"):rep(i % 300) }, rows:row(i, "a"))
      end
      local none = rows:next_result()
      assert.equal(0, #none.columns)
      local last = none:next_result()
      assert.same({ "end" }, last:row(1, "a"))
      assert.is_nil(last:next_result())
      assert.equal(4, scalar(db, "SELECT 4"))
    end)

    it("streams 100000 rows through a cursor", function()
      local db <close> = connect(tr)
      local cur = db:cursor{ stream = true }
      cur:execute("SELECT seq, CONCAT('row-', seq) AS label FROM seq_1_to_100000")
      local n, sum, row = 0, 0, {}
      while cur:fetch(row) do
        n = n + 1
        sum = sum + row.seq
        if row.seq ~= n or row.label ~= "row-" .. n then
          error(("row %d is %s, %s"):format(n, tostring(row.seq), tostring(row.label)))
        end
      end
      cur:close()
      assert.equal(100000, n)
      assert.equal(100000 * 100001 // 2, sum)
      assert.equal(5, scalar(db, "SELECT 5"))
    end)

    it("sends and receives a 17 MiB value", function()
      local db <close> = connect(tr, { max_packet = 64 * MiB })
      local data = noise_block():rep(17 * 16)
      assert.equal(17 * MiB, #data)
      db:query("CREATE TEMPORARY TABLE big (id INT PRIMARY KEY, b LONGBLOB)")
      assert.equal(1, db:query("INSERT INTO big VALUES (1, ?)", data).affected_rows)
      assert.equal(17 * MiB, scalar(db, "SELECT LENGTH(b) FROM big"))
      local back = scalar(db, "SELECT b FROM big")
      assert.equal(#data, #back)
      assert.is_true(back == data, "the value came back changed")
      local made = scalar(db, "SELECT REPEAT('x', 17 * 1024 * 1024 + 5)")
      assert.equal(17 * MiB + 5, #made)
      assert.is_true(made == ("x"):rep(17 * MiB + 5))
      assert.equal(6, scalar(db, "SELECT 6"))
    end)

    it("KILL QUERY from another connection ends the streaming result with 1317; "
      .. "the connection goes on", function()
      local db <close> = connect(tr)
      local other <close> = connect(tr)
      local cur = db:cursor{ stream = true }
      cur:execute(SLOW_ROWS)
      for i = 1, 5 do assert.equal(i, cur:fetch().seq) end
      other:query("KILL QUERY " .. db.thread_id)
      local err, elapsed = raises(1317, drain, cur)
      assert.matches("interrupted", err.message)
      assert.is_true(elapsed < 10, "took " .. elapsed .. " s")
      cur:close()
      assert.equal(7, scalar(db, "SELECT 7"))
      assert_transport(tr, db)
    end)

    it("KILL from another connection while a result streams in: a clear error, then 2006",
      function()
      local db = connect(tr)
      local other <close> = connect(tr)
      local cur = db:cursor{ stream = true }
      cur:execute(SLOW_ROWS)
      for i = 1, 5 do assert.equal(i, cur:fetch().seq) end
      other:query("KILL " .. db.thread_id)
      local err, elapsed = raises(tr.lost, drain, cur)
      assert.is_true(elapsed < 10, "took " .. elapsed .. " s")
      assert.is_true(db.broken, "not broken after " .. tostring(err))
      cur:close()
      assert_broken(db)
      assert.equal(8, scalar(other, "SELECT 8"))
    end)

    it("KILL of an idle connection from another: its next query fails, then 2006", function()
      local db = connect(tr)
      local other <close> = connect(tr)
      assert.is_true(other:kill(db.thread_id))
      local codes = { 2006 }
      for _, c in ipairs(tr.lost) do codes[#codes + 1] = c end
      raises(codes, db.query, db, "SELECT 1")
      assert_broken(db)
    end)
  end)
end

-- The fault layer sits on the socket, under TLS (and compression above it).
local FAULTY = { TRANSPORTS[2], TRANSPORTS[4] }

local function connect_faulty(tr, cfg, extra)
  local p = params_for(tr, extra)
  p.transport = fault.opener(cfg)
  return mylua.connect(p)
end

-- The bytes a client reads from the socket for the login and then fn(db)
-- (the login alone when fn is nil): the smallest drop_after that lets it
-- succeed.  Measured rather than assumed, so the offsets below stay right
-- whatever certificates, tickets or greeting the server sends.
local function received_bytes(tr, fn)
  local function works(n)
    local ok, db = pcall(connect_faulty, tr, { drop_after = n }, { read_timeout = 5 })
    if not ok then return false end
    if fn then ok = pcall(fn, db) end
    db:close()
    return ok
  end
  return helpers.smallest_working(works, 1024, 1 * MiB)
end

-- About 260 kB of rows, hex digests that zlib halves at best: many TLS
-- records, compressed or not.
local BIG_RESULT = "SELECT seq, CONCAT(SHA2(seq, 512), SHA2(-seq, 512)) AS h FROM seq_1_to_1000"

for _, tr in ipairs(FAULTY) do
  describe("the fault layer under " .. tr.name, function()
    local login

    setup(function()
      login = received_bytes(tr)
    end)

    it("(the login reads the TLS handshake and the server's OK: 1-10 kB, no byte more)", function()
      assert.is_true(login > 1000 and login < 10000, "login took " .. login .. " bytes")
      local db = connect_faulty(tr, { drop_after = login }, { read_timeout = 5 })
      db:close()
      raises(tr.lost, connect_faulty, tr, { drop_after = login - 1 }, { read_timeout = 5 })
    end)

    it("reads of one byte at a time: the login, a result, a large value", function()
      local db <close> = connect_faulty(tr, { short_reads = true })
      assert_transport(tr, db)
      local res = db:query("SELECT seq, CONCAT('row ', seq) FROM seq_1_to_500")
      assert.equal(500, #res)
      for i = 1, 500, 7 do assert.same({ i, "row " .. i }, res:row(i, "a")) end
      local n = 300000
      assert.equal(("0123456789"):rep(n // 10),
        scalar(db, "SELECT REPEAT('0123456789', " .. n // 10 .. ")"))
      assert.equal(1, scalar(db, "SELECT 1"))
    end)

    it("a connection dropped inside the TLS handshake: connect fails at once", function()
      local p = params_for(tr, { connect_timeout = 10 })
      p.transport = fault.opener{ drop_after = 600 } -- past the greeting, in the server's flight
      local err, elapsed = raises({ 2013, 2026 }, mylua.connect, p)
      assert.is_true(elapsed < 2, "took " .. elapsed .. " s: " .. tostring(err))
    end)

    it("one corrupted byte in the TLS handshake: connect fails with 2026 at once", function()
      local p = params_for(tr, { connect_timeout = 10 })
      p.transport = fault.opener{ corrupt_at = 600 }
      local err, elapsed = raises(2026, mylua.connect, p)
      assert.is_true(elapsed < 2, "took " .. elapsed .. " s: " .. tostring(err))
    end)

    it("a connection dropped inside a record of a result: the query fails at once, then 2006",
      function()
      local db = connect_faulty(tr, { drop_after = login + 2000 }, { read_timeout = 10 })
      local err, elapsed = raises(tr.lost, db.query, db, BIG_RESULT)
      assert.is_true(elapsed < 2, "took " .. elapsed .. " s: " .. tostring(err))
      assert.is_true(db.broken)
      assert_broken(db)
    end)

    it("one corrupted byte inside a record of a result: a clear error at once, then 2006",
      function()
      -- the record's integrity check catches it before any packet is parsed
      local db = connect_faulty(tr, { corrupt_at = login + 2000 }, { read_timeout = 10 })
      local err, elapsed = raises({ 2013, 2026 }, db.query, db, BIG_RESULT)
      assert.is_true(elapsed < 2, "took " .. elapsed .. " s: " .. tostring(err))
      local msg = err.message:lower()
      assert.truthy(msg:find("mac", 1, true) or msg:find("decrypt", 1, true), err.message)
      assert.is_true(db.broken)
      assert_broken(db)
    end)

    it("a drop anywhere in a streamed result: the right rows, then a clear error", function()
      -- offsets across the whole result, every one of them ends cleanly
      local total = received_bytes(tr, function(db) return db:query(BIG_RESULT) end)
      assert.is_true(total - login > 100000, "the result took " .. (total - login) .. " bytes")
      for cut = login + 1, total - 1, (total - login) // 7 do
        local db = connect_faulty(tr, { drop_after = cut }, { read_timeout = 10 })
        local cur = db:cursor{ stream = true }
        local err, elapsed = raises(tr.lost, function()
          cur:execute(BIG_RESULT)
          local i = 0
          while true do
            local row = cur:fetch()
            if not row then break end
            i = i + 1
            assert.equal(i, row.seq)
          end
        end)
        assert.is_true(elapsed < 2, ("cut at %d took %.1f s: %s"):format(cut, elapsed, tostring(err)))
        cur:close()
        assert_broken(db)
      end
    end)
  end)
end

-- Without TLS nothing checks a compressed frame's bytes but the client:
-- each header byte and the zlib data it frames.
describe("the fault layer under compression", function()
  local tr = TRANSPORTS[3]
  local login

  setup(function()
    login = received_bytes(tr)
  end)

  it("(the login is read uncompressed: under 1 kB)", function()
    assert.is_true(login > 50 and login < 1000, "login took " .. login .. " bytes")
  end)

  it("reads of one byte at a time", function()
    local db <close> = connect_faulty(tr, { short_reads = true })
    assert_transport(tr, db)
    local res = db:query(BIG_RESULT)
    assert.equal(1000, #res)
    assert.equal(scalar(db, "SELECT CONCAT(SHA2(777, 512), SHA2(-777, 512))"), res:row(777).h)
  end)

  it("a connection dropped inside a frame: 2013 at once, then 2006", function()
    for _, off in ipairs{ 3, 7, 100, 2000 } do
      local db = connect_faulty(tr, { drop_after = login + off }, { read_timeout = 10 })
      local err, elapsed = raises(2013, db.query, db, BIG_RESULT)
      assert.is_true(elapsed < 2, ("cut at +%d took %.1f s: %s"):format(off, elapsed, tostring(err)))
      assert_broken(db)
    end
  end)

  it("one corrupted byte in a frame's header or data: 2027, or 2013 within read_timeout", function()
    -- a corrupted length may announce bytes that never come: then only
    -- read_timeout can end the wait
    for _, off in ipairs{ 0, 1, 2, 3, 4, 5, 6, 7, 8, 20, 2000 } do
      local db = connect_faulty(tr, { corrupt_at = login + off }, { read_timeout = 1 })
      local err, elapsed = raises({ 2027, 2013 }, db.query, db, BIG_RESULT)
      local bound = err.code == 2013 and 2 or 0.5
      assert.is_true(elapsed < bound, ("corrupt at +%d took %.1f s: %s")
        :format(off, elapsed, tostring(err)))
      assert_broken(db)
    end
  end)
end)
