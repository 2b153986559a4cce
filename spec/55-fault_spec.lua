-- Faults a real server cannot produce on demand, injected by a transport
-- layer stacked over the socket to the sandbox server (spec/support/fault.c,
-- loaded as the test-only module mylua_fault): reads of one byte, slow
-- reads, a connection dropped after N bytes, one corrupted byte.  Every
-- case ends in the right result or a clear error, never a crash or a hang.
-- Also: what the server answers to a statement over its max_allowed_packet,
-- and the client's own max_packet ceiling.

local mylua = require "mylua"
local helpers = require "helpers"
local fault = require "mylua_fault"

local raises = helpers.raises
local MiB = 1024 * 1024

local function connect_with(cfg, extra)
  local opts = helpers.params(extra)
  opts.transport = fault.opener(cfg)
  return mylua.connect(opts)
end

local function scalar(db, sql)
  return db:query(sql):row(1, "a")[1]
end

local function assert_broken(db)
  raises(2006, db.query, db, "SELECT 1")
  db:close()
end

-- The bytes a client receives for `fn(db)` (login included, when fn is
-- nil: the login only): the smallest drop_after that lets it succeed.  The
-- client reads exactly what the server sends, so this is exact, and it
-- keeps the offsets below right whatever the server's greeting holds.
local function received_bytes(fn)
  local function works(n)
    local ok, db = pcall(connect_with, { drop_after = n }, { read_timeout = 5 })
    if not ok then return false end
    if fn then ok = pcall(fn, db) end
    db:close()
    return ok
  end
  return helpers.smallest_working(works, 64, 1 * MiB)
end

describe("the transport option", function()
  it("refuses what is not a transport opener", function()
    local opts = helpers.params()
    opts.transport = {}
    helpers.raises_string("option 'transport' must be a transport opener", mylua.connect, opts)
    opts.transport = io.stdout
    helpers.raises_string("option 'transport' must be a transport opener", mylua.connect, opts)
  end)

  it("with no fault configured, is a plain connection", function()
    local db = connect_with({})
    assert.equal(3, scalar(db, "SELECT 1 + 2"))
    db:close()
  end)
end)

describe("reads of one byte at a time", function()
  local db

  setup(function()
    db = connect_with({ short_reads = true }, { read_timeout = 30 })
  end)

  teardown(function()
    if db then db:close() end
  end)

  it("log in", function()
    assert.equal("integer", math.type(db.thread_id))
    assert.equal(db.thread_id, scalar(db, "SELECT CONNECTION_ID()"))
  end)

  it("read a multi-row result whole", function()
    local res = db:query("SELECT seq, CONCAT('row ', seq) FROM seq_1_to_500")
    assert.equal(500, #res)
    for i = 1, 500 do
      local r = res:row(i, "a")
      assert.equal(i, r[1])
      assert.equal("row " .. i, r[2])
    end
  end)

  it("read a large value", function()
    local n = 300000
    local v = scalar(db, "SELECT REPEAT('0123456789', " .. n // 10 .. ")")
    assert.equal(n, #v)
    assert.equal(("0123456789"):rep(n // 10), v)
    assert.equal(1, scalar(db, "SELECT 1"))
  end)
end)

describe("slow reads", function()
  it("within read_timeout still succeed", function()
    local db = connect_with({ delay_ms = 50 }, { read_timeout = 2 })
    assert.equal(2, scalar(db, "SELECT 2"))
    db:close()
  end)

  it("slower than read_timeout fail with 2013 after about read_timeout, then 2006", function()
    -- every read waits 0.8 s: the login (under connect_timeout) takes two
    -- of them, the query's first read gives up at read_timeout
    local db = connect_with({ delay_ms = 800 }, { read_timeout = 0.3, connect_timeout = 10 })
    local err, elapsed = raises(2013, db.query, db, "SELECT 1")
    assert.is_true(elapsed >= 0.2, "gave up early: " .. elapsed .. " s")
    assert.is_true(elapsed < 1.2, "took " .. elapsed .. " s")
    assert.matches("timed out", err.message)
    assert_broken(db)
  end)
end)

describe("a connection dropped after N bytes", function()
  it("during the handshake: connect raises 2013 at once", function()
    local opts = helpers.params{ connect_timeout = 10 }
    opts.transport = fault.opener{ drop_after = 20 } -- inside the greeting
    local err, elapsed = raises(2013, mylua.connect, opts)
    assert.matches("Lost connection to server", err.message)
    assert.matches("connection closed", err.message)
    assert.is_true(elapsed < 2, "took " .. elapsed .. " s")
  end)

  it("during a result: the query raises 2013, then the connection is broken (2006)", function()
    local login = received_bytes()
    assert.is_true(login > 50 and login < 1000, "login took " .. login .. " bytes")
    -- a result of about 100 kB, cut 2000 bytes into it
    local db = connect_with({ drop_after = login + 2000 }, { read_timeout = 10 })
    local err, elapsed = raises(2013, db.query, db,
      "SELECT seq, REPEAT('x', 100) FROM seq_1_to_1000")
    assert.matches("Lost connection to server", err.message)
    assert.matches("connection closed", err.message)
    assert.is_true(elapsed < 2, "took " .. elapsed .. " s")
    assert_broken(db)
  end)
end)

describe("one corrupted byte", function()
  it("in the greeting's protocol version: 2012", function()
    local opts = helpers.params{ connect_timeout = 10 }
    opts.transport = fault.opener{ corrupt_at = 4 } -- the first payload byte
    local _, elapsed = raises(2012, mylua.connect, opts)
    assert.is_true(elapsed < 2, "took " .. elapsed .. " s")
  end)

  it("in the greeting's length: 2020 from the handshake ceiling, without waiting", function()
    -- the length's high byte becomes 0xFF: a 16 MiB greeting, far over the
    -- 64 KiB allowed before login, refused from the header alone
    local opts = helpers.params{ connect_timeout = 10 }
    opts.transport = fault.opener{ corrupt_at = 2 }
    local err, elapsed = raises(2020, mylua.connect, opts)
    assert.matches("max_packet", err.message)
    assert.is_true(elapsed < 2, "took " .. elapsed .. " s")
  end)

  describe("in a row", function()
    -- SELECT 'abc' answers: column count, one column definition, the row
    -- (4-byte header, then 03 'a' 'b' 'c'), and an 11-byte OK packet.
    local sql = "SELECT 'abc' AS v"
    local total

    setup(function()
      total = received_bytes(function(db) return db:query(sql) end)
    end)

    it("(the offsets are right: nothing corrupted before the row's value)", function()
      -- corrupting the last letter only changes the value: the protocol has
      -- no checksum, which is why the cases below aim at structure
      local db = connect_with({ corrupt_at = total - 12 }, { read_timeout = 5 })
      assert.equal("ab" .. string.char(("c"):byte() ~ 0xFF), scalar(db, sql))
      db:close()
    end)

    it("its length prefix: 2027 malformed row, then 2006", function()
      local db = connect_with({ corrupt_at = total - 15 }, { read_timeout = 5 })
      local err, elapsed = raises(2027, db.query, db, sql)
      assert.matches("Malformed packet", err.message)
      assert.is_true(elapsed < 2, "took " .. elapsed .. " s")
      assert_broken(db)
    end)

    it("its sequence id: 2027 packets out of order, then 2006", function()
      local db = connect_with({ corrupt_at = total - 16 }, { read_timeout = 5 })
      local err = raises(2027, db.query, db, sql)
      assert.matches("Packets out of order", err.message)
      assert_broken(db)
    end)
  end)
end)

describe("max_packet", function()
  it("refuses more than 1 GiB before connecting, as a bad option", function()
    helpers.raises_string("option 'max_packet' must be an integer from 1024 to 1073741824",
      helpers.connect, { max_packet = 1024 * MiB + 1 })
    local db = helpers.connect{ max_packet = 1024 * MiB } -- exactly 1 GiB is allowed
    db:close()
  end)

  it("refuses a result packet over it with 2020 and closes the connection", function()
    local db = helpers.connect{ max_packet = 1 * MiB }
    assert.equal(1000000, #scalar(db, "SELECT REPEAT('x', 1000000)"))
    local err = raises(2020, db.query, db, "SELECT REPEAT('x', 1100000)")
    assert.equal("Got packet bigger than 'max_packet' (1048576 bytes)", err.message)
    assert_broken(db)
  end)

  it("refuses a statement over it with 2020 before sending; the connection stays usable", function()
    local db = helpers.connect{ max_packet = 1 * MiB }
    local sql = "SELECT LENGTH('" .. ("y"):rep(1 * MiB) .. "')"
    local err = raises(2020, db.query, db, sql)
    assert.matches("max_packet", err.message)
    assert.equal(5, scalar(db, "SELECT 5"))
    db:close()
  end)

  it("is 16 MiB by default", function()
    local db = helpers.connect()
    assert.equal(16 * MiB - 100, #scalar(db, "SELECT REPEAT('z', " .. (16 * MiB - 100) .. ")"))
    raises(2020, db.query, db, "SELECT REPEAT('z', " .. (16 * MiB + 100) .. ")")
    db:close()
  end)
end)

describe("a statement over the server's max_allowed_packet", function()
  local admin, saved

  setup(function()
    admin = helpers.connect()
    saved = scalar(admin, "SELECT @@GLOBAL.max_allowed_packet")
    admin:query("SET GLOBAL max_allowed_packet = 1048576")
  end)

  teardown(function()
    if admin then
      admin:query("SET GLOBAL max_allowed_packet = " .. math.tointeger(saved))
      admin:close()
    end
  end)

  -- A new session takes the global value; the client's own ceiling is set
  -- far higher so that the server is the one to refuse.
  for _, size in ipairs{ 2 * MiB, 8 * MiB } do
    it(("(%d MiB) raises the server's 1153, then the connection is broken"):format(size // MiB),
      function()
        local db = helpers.connect{ max_packet = 64 * MiB, read_timeout = 10 }
        assert.equal(1 * MiB, scalar(db, "SELECT @@SESSION.max_allowed_packet"))
        db:query("SELECT 1; SELECT 2; SELECT 3") -- a response of three results just before
        local err, elapsed = raises(1153, db.query, db, "SELECT '" .. ("x"):rep(size) .. "'")
        assert.matches("max_allowed_packet", err.message)
        -- the one statement that was sent failed, not a "statement 3" of the one before
        assert.is_nil(err.statement)
        assert.is_true(elapsed < 5, "took " .. elapsed .. " s")
        assert_broken(db)
      end)
  end
end)
