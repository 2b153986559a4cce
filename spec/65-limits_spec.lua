-- What a broken or hostile peer cannot get past, and the messages that say
-- what happened: memory that follows the bytes received, whole-step
-- deadlines, discarding under a budget, greetings that are no greeting.
-- The peers are spec/support/corepeer.py (built on fakeserver.py).

local mylua = require "mylua"
local helpers = require "helpers"
local peer = require "support.peer"

local raises, now = helpers.raises, helpers.now

local function start(scenario) return peer.start(scenario, "corepeer.py") end

local function options(p, extra)
  local o = {
    host = "127.0.0.1", port = p.port, user = "u", password = "p",
    connect_timeout = 2, read_timeout = 2,
  }
  for k, v in pairs(extra or {}) do o[k] = v end
  return o
end

describe("a peer that is no MySQL server", function()
  after_each(peer.stop_all)

  for _, case in ipairs {
    { "ssh_banner", "SSH-2.0-OpenSSH_9.2p1" },
    { "http_reply", "HTTP/1.1 400 Bad Request" },
  } do
    it("is named as such when it sends " .. case[2], function()
      local p = start(case[1])
      local err, elapsed = raises(2013, mylua.connect, options(p))
      assert.truthy(err.message:find("not a MySQL/MariaDB server", 1, true), err.message)
      assert.truthy(err.message:find(case[2], 1, true), err.message)
      assert.truthy(err.message:find("reading initial communication packet", 1, true), err.message)
      assert.falsy(err.message:find("during query", 1, true), err.message)
      assert.is_true(elapsed < 1.5, "took " .. elapsed .. " s")
    end)
  end

  it("is a handshake error, not 'too old', when the greeting is junk after the version byte", function()
    local p = start("garbage_greeting")
    local err = raises(2012, mylua.connect, options(p))
    assert.falsy(err.message:lower():find("too old", 1, true), err.message)
  end)
end)

describe("a greeting", function()
  after_each(peer.stop_all)

  it("with a scramble shorter than 20 bytes is refused, not answered", function()
    local p = start("short_scramble")
    local err = raises(2012, mylua.connect, options(p))
    assert.truthy(err.message:find("scramble of 12 bytes", 1, true), err.message)
    assert.is_nil(p:value("auth"), "the client answered the greeting")
  end)

  it("that claims a plugin name and has none is refused", function()
    local p = start("no_plugin_name")
    local err = raises(2012, mylua.connect, options(p))
    assert.truthy(err.message:find("no authentication plugin", 1, true), err.message)
  end)
end)

describe("a login OK flagged 'more results'", function()
  after_each(peer.stop_all)

  it("leaves the connection ready for commands", function()
    local p = start("login_more_results")
    local db = mylua.connect(options(p))
    assert.equal(0, db.status & 8, "the more-results flag survived the login")
    assert.is_true(db:ping())
    local res = db:query("SELECT 1")
    assert.equal(1, res:row(1, "a")[1])
    db:close()
  end)
end)

describe("a response of many results", function()
  after_each(peer.stop_all)

  it("costs memory in proportion to its bytes (60,000 OK packets)", function()
    local p = start("some_results")
    local db = mylua.connect(options(p, { read_timeout = 20 }))
    local before = helpers.collected_rss_kb()
    local res = db:query("many")
    local after = helpers.rss_kb()
    local n, r = 1, res:next_result()
    while r do n = n + 1; r = r:next_result() end
    assert.equal(60000, n)
    -- 60,000 OK packets are 660 KB on the wire; the chain must stay within
    -- a small multiple of that (the old layout took about 50 MiB for them).
    -- The sanitizers put a red zone around every allocation.
    local limit = os.getenv("MYLUA_SANITIZE") == "1" and 24 * 1024 or 12 * 1024
    assert.is_true(after - before < limit, ("grew by %d KiB"):format(after - before))
    db:close()
  end)

  it("may hold at most 65536 results: more is a clear error and the connection is closed", function()
    local p = start("many_results")
    local db = mylua.connect(options(p, { read_timeout = 20 }))
    local before = helpers.collected_rss_kb()
    local err, elapsed = raises(2020, db.query, db, "many")
    assert.truthy(err.message:find("more than 65536 results", 1, true), err.message)
    assert.is_true(helpers.collected_rss_kb() - before < 16 * 1024, "memory was not given back")
    assert.is_true(elapsed < 10, "took " .. elapsed .. " s")
    raises(2006, db.ping, db)
    db:close()
  end)
end)

describe("column definitions", function()
  after_each(peer.stop_all)

  it("of a streaming cursor are read under one deadline, not one per packet", function()
    local p = start("slow_columns")
    local db = mylua.connect(options(p, { read_timeout = 1 }))
    local cur = db:cursor{ stream = true }
    -- 12 definitions 0.3 s apart: each packet is within read_timeout, the
    -- whole head is not
    local _, elapsed = raises(2013, cur.execute, cur, "SELECT wide")
    assert.is_true(elapsed < 1.8, "took " .. elapsed .. " s")
    db:close()
  end)

  it("more than 65535 columns is a protocol error object", function()
    local p = start("wide_count")
    local db = mylua.connect(options(p))
    local err = raises(2027, db.query, db, "SELECT wide")
    assert.truthy(err.message:find("70000 columns", 1, true), err.message)
    assert.is_true(mylua.is_error(err))
    db:close()
  end)
end)

describe("a row", function()
  after_each(peer.stop_all)

  it("that starts with 0xFE and is no end of rows is not called an EOF packet", function()
    local p = start("bad_fe_row")
    local db = mylua.connect(options(p))
    local err = raises(2027, db.query, db, "SELECT 1")
    assert.falsy(err.message:find("EOF packet", 1, true), err.message)
    assert.truthy(err.message:find("row", 1, true), err.message)
    db:close()
  end)
end)

describe("an unfinished stream", function()
  after_each(peer.stop_all)

  it("whose cursor was collected is discarded before the next command", function()
    local p = start("stream_then_ok")
    local db = mylua.connect(options(p))
    do
      local cur = db:cursor{ stream = true }
      cur:execute("SELECT big")
      assert.equal(1024, #cur:fetch({}, "a")[1])
    end
    collectgarbage()
    collectgarbage()
    local res = db:query("SELECT 1")
    assert.equal(1, res:row(1, "a")[1])
    db:close()
  end)

  it("that never ends is given up within a budget on close, which says so", function()
    local p = peer.start("flood")
    local db = mylua.connect(options(p, { read_timeout = 5 }))
    local cur = db:cursor{ stream = true }
    cur:execute("SELECT endless")
    assert.is_table(cur:fetch())
    local err, elapsed = raises(2013, cur.close, cur)
    -- the byte budget (64 MiB) or the deadline, whichever comes first
    assert.is_true(elapsed < 6, "close took " .. elapsed .. " s")
    assert.truthy(err.message:find("longer than", 1, true) or err.message:find("timed out", 1, true),
      err.message)
    assert.is_true(cur.closed)
    assert.is_false(db.closed)
    assert.is_true(db.broken)
    raises(2006, db.query, db, "SELECT 1")
    db:close()
  end)

  it("that never ends does not hold a <close> scope past the deadline, nor hide its error", function()
    local p = peer.start("flood")
    local db = mylua.connect(options(p, { read_timeout = 1 }))
    local ok, err = pcall(function()
      local cur <close> = db:cursor{ stream = true }
      cur:execute("SELECT endless")
      error("the scope's own error", 0)
    end)
    assert.is_false(ok)
    assert.equal("the scope's own error", err)
    raises(2006, db.query, db, "SELECT 1")
    db:close()
  end)
end)

describe("max_result_bytes", function()
  it("bounds a buffered result from the real server: 2020, then the connection is closed", function()
    local db = helpers.connect{ max_result_bytes = 100000, read_timeout = 30 }
    -- about 20 KB: within the limit
    local res = db:query("SELECT REPEAT('x', 100) AS v FROM seq_1_to_200")
    assert.equal(200, #res)
    -- about 1 MB of rows: over it
    local err = raises(2020, db.query, db, "SELECT REPEAT('x', 1000) AS v FROM seq_1_to_1000")
    assert.truthy(err.message:find("max_result_bytes", 1, true), err.message)
    assert.is_true(db.broken)
    raises(2006, db.ping, db)
    db:close()
  end)

  it("does not limit a streaming cursor, which keeps nothing", function()
    local db = helpers.connect{ max_result_bytes = 100000, read_timeout = 30 }
    local cur = db:cursor()
    cur:execute("SELECT REPEAT('x', 1000) AS v FROM seq_1_to_1000")
    local n = 0
    for row in cur:rows() do
      n = n + 1
      assert.equal(1000, #row.v)
    end
    assert.equal(1000, n)
    db:close()
  end)
end)
