-- A misbehaving server: every case ends in a clear error object with the
-- right client error code, within a bounded time, and a connection that
-- broke stays broken (2006) instead of crashing or hanging.
-- The peer is spec/support/fakeserver.py (one connection per start).

local mylua = require "mylua"
local safe = require "mylua.safe"
local helpers = require "helpers"
local peer = require "support.peer"

local raises = helpers.raises

-- A greeting that cannot be parsed is an error in the server handshake.
local HANDSHAKE_ERROR = 2012

local function options(p, extra)
  local o = {
    host = "127.0.0.1", port = p.port, user = "u", password = "p",
    connect_timeout = 2, read_timeout = 1,
  }
  for k, v in pairs(extra or {}) do o[k] = v end
  return o
end


local function connect_ok(p, extra)
  local ok, db = pcall(mylua.connect, options(p, extra))
  assert(ok, "connect to the scripted peer failed: " .. tostring(db))
  return db
end

-- The connection is marked broken: every later command raises 2006.
local function assert_broken(db)
  raises(2006, db.query, db, "SELECT 1")
  raises(2006, db.ping, db)
  assert.is_true(db:close())
  assert.is_true(db.closed)
end

local rss_kb = helpers.collected_rss_kb

describe("a scripted MySQL peer", function()
  after_each(peer.stop_all)

  describe("that behaves", function()
    it("is connected to and queried", function()
      local p = peer.start("ok")
      local db = connect_ok(p)
      assert.equal(4242, db.thread_id)
      assert.truthy(db.server_version:find("10.11.0-fake", 1, true), db.server_version)
      local res = db:query("SELECT 1")
      assert.equal(1, #res)
      local row = res:row(1, "a")
      assert.equal(1, row[1])
      assert.equal("integer", math.type(row[1]))
      assert.equal("1", res.columns[1].name)
      assert.equal("LONGLONG", res.columns[1].type)
      assert.is_true(db:close())
      assert.equal("auth=ok", p:line())
    end)

    it("refuses a wrong password with 1045 (28000)", function()
      local p = peer.start("ok")
      local err, elapsed = raises(1045, mylua.connect, options(p, { password = "wrong" }))
      assert.equal("28000", err.sqlstate)
      assert.truthy(err.message:find("Access denied", 1, true), err.message)
      assert.equal("ERROR 1045 (28000): " .. err.message, tostring(err))
      assert.is_true(elapsed < 1.5, "took " .. elapsed .. " s")
      assert.equal("auth=denied", p:line())
    end)

    it("keeps the connection usable after a server-side error", function()
      local p = peer.start("server_error")
      local db = connect_ok(p)
      local err = raises(1146, db.query, db, "SELECT * FROM nope")
      assert.equal("42S02", err.sqlstate)
      assert.equal("ERROR 1146 (42S02): Table 'test.nope' doesn't exist", tostring(err))
      local res = db:query("SELECT 1")
      assert.equal(1, res:row(1, "a")[1])
      db:close()
    end)

    it("reports OK-packet fields exactly, big numbers included", function()
      local p = peer.start("ok_fields")
      local db = connect_ok(p)
      local res = db:query("UPDATE t SET a = a + 1")
      assert.equal(1 << 40, res.affected_rows)
      assert.equal("integer", math.type(res.affected_rows))
      -- 2^63 + 5 does not fit a Lua integer: a decimal string, never a wrong number
      assert.equal("9223372036854775813", res.insert_id)
      assert.equal(3, res.warnings)
      assert.equal(0x0022, res.status)
      assert.equal("hello", res.info)
      assert.equal(0, #res)
      assert.same({}, res.columns)
      assert.equal(0x0022, db.status)
      db:close()
    end)
  end)

  describe("that authenticates unusually", function()
    it("follows an AuthSwitchRequest to mysql_native_password with a new scramble", function()
      local p = peer.start("auth_switch")
      local db = connect_ok(p)
      local res = db:query("SELECT 1")
      assert.equal(1, res:row(1, "a")[1])
      db:close()
      assert.equal("auth=ok", p:line())
    end)

    it("answers the switched scramble, not the first one (wrong password -> 1045)", function()
      local p = peer.start("auth_switch")
      local err = raises(1045, mylua.connect, options(p, { password = "q" }))
      assert.equal("28000", err.sqlstate)
    end)

    it("fails with 2059 naming the plugin when switched to one it does not know", function()
      local p = peer.start("unknown_plugin")
      local err, elapsed = raises(2059, mylua.connect, options(p))
      assert.truthy(err.message:find("mylua_no_such_plugin", 1, true),
        "message does not name the plugin: " .. tostring(err))
      assert.is_true(elapsed < 1.5, "took " .. elapsed .. " s")
    end)

    it("rejects a greeting whose auth-data length overruns", function()
      local p = peer.start("bad_auth_length_greeting")
      local _, elapsed = raises(HANDSHAKE_ERROR, mylua.connect, options(p))
      assert.is_true(elapsed < 1.5, "took " .. elapsed .. " s")
    end)
  end)

  describe("that breaks the handshake", function()
    it("is abandoned after a fractional connect_timeout when it never speaks", function()
      local p = peer.start("silent")
      local _, elapsed = raises(2013, mylua.connect, options(p, { connect_timeout = 0.5 }))
      assert.is_true(elapsed >= 0.4, "gave up early: " .. elapsed .. " s")
      assert.is_true(elapsed < 1.2, "took " .. elapsed .. " s")
    end)

    it("cannot hold the client past connect_timeout by dripping the greeting", function()
      local p = peer.start("drip_handshake")
      local _, elapsed = raises(2013, mylua.connect, options(p, { connect_timeout = 2 }))
      assert.is_true(elapsed < 3.0, "took " .. elapsed .. " s")
    end)

    it("loses the connection when the greeting is cut short", function()
      local p = peer.start("truncated_greeting")
      local _, elapsed = raises(2013, mylua.connect, options(p))
      assert.is_true(elapsed < 1.5, "took " .. elapsed .. " s")
    end)

    it("rejects a greeting whose server version runs past the packet", function()
      local p = peer.start("bad_length_greeting")
      local _, elapsed = raises(HANDSHAKE_ERROR, mylua.connect, options(p))
      assert.is_true(elapsed < 1.5, "took " .. elapsed .. " s")
    end)

    it("passes on an ERR packet sent instead of a greeting", function()
      local p = peer.start("err_greeting")
      local err, elapsed = raises(1040, mylua.connect, options(p))
      assert.equal("Too many connections", err.message)
      assert.equal("HY000", err.sqlstate)
      assert.equal("ERROR 1040 (HY000): Too many connections", tostring(err))
      assert.is_true(elapsed < 1.5, "took " .. elapsed .. " s")
    end)

    it("returns nil, err through mylua.safe", function()
      local p = peer.start("truncated_greeting")
      local db, err = safe.connect(options(p))
      assert.is_nil(db)
      assert.is_true(mylua.is_error(err), tostring(err))
      assert.equal(2013, err.code)
    end)
  end)

  describe("that breaks a result", function()
    it("cannot hold the client past read_timeout by dripping a result", function()
      local p = peer.start("drip")
      local db = connect_ok(p)
      local _, elapsed = raises(2013, db.query, db, "SELECT 1")
      assert.is_true(elapsed >= 0.9, "gave up early: " .. elapsed .. " s")
      assert.is_true(elapsed < 2.5, "took " .. elapsed .. " s")
      assert_broken(db)
    end)

    it("honours a fractional read_timeout", function()
      local p = peer.start("drip")
      local db = connect_ok(p, { read_timeout = 0.5 })
      local _, elapsed = raises(2013, db.query, db, "SELECT 1")
      assert.is_true(elapsed < 1.3, "took " .. elapsed .. " s")
      assert_broken(db)
    end)

    it("rejects a packet with a wrong sequence id", function()
      local p = peer.start("wrong_seq")
      local db = connect_ok(p)
      local _, elapsed = raises(2027, db.query, db, "SELECT 1")
      assert.is_true(elapsed < 0.9, "took " .. elapsed .. " s")
      assert_broken(db)
    end)

    it("rejects a row whose length-encoded string runs past the packet", function()
      local p = peer.start("truncated_row")
      local db = connect_ok(p)
      local _, elapsed = raises(2027, db.query, db, "SELECT s FROM t")
      assert.is_true(elapsed < 0.9, "took " .. elapsed .. " s")
      assert_broken(db)
    end)

    it("rejects an absurd column count without allocating for it", function()
      local p = peer.start("bad_column_count")
      local db = connect_ok(p)
      local before = rss_kb()
      local _, elapsed = raises(2027, db.query, db, "SELECT 1")
      local grown = rss_kb() - before
      assert.is_true(elapsed < 0.9, "took " .. elapsed .. " s")
      assert.is_true(grown < 32 * 1024, "RSS grew by " .. grown .. " kB")
      assert_broken(db)
    end)

    local malformed = {
      row_extra_bytes = "a row packet with bytes after its last value",
      lenenc_overflow_row = "a row value whose length is 2^64 - 1",
      lenenc_overflow_column = "a column name whose length is 2^64 - 1",
      truncated_ok = "an OK packet cut short",
      truncated_err = "an ERR packet cut short",
    }
    for _, scenario in ipairs{ "row_extra_bytes", "lenenc_overflow_row",
        "lenenc_overflow_column", "truncated_ok", "truncated_err" } do
      it("rejects " .. malformed[scenario] .. " as malformed", function()
        local p = peer.start(scenario)
        local db = connect_ok(p)
        local _, elapsed = raises(2027, db.query, db, "SELECT 1")
        assert.is_true(elapsed < 0.9, "took " .. elapsed .. " s")
        assert_broken(db)
      end)
    end

    it("gives a DOUBLE value that is not a number as its exact bytes, the row intact", function()
      local p = peer.start("nul_in_double")
      local db = connect_ok(p)
      for _, mode in ipairs{ "k", "a" } do
        local row = db:query("SELECT d, e FROM t"):row(1, mode)
        assert.equal("table", type(row))
        local d, e = row[mode == "k" and "d" or 1], row[mode == "k" and "e" or 2]
        assert.equal("1\0" .. "2", d)
        assert.equal(2.5, e)
        assert.equal("float", math.type(e))
      end
      local a, b, extra = db:query("SELECT d, e FROM t"):row(1, "v")
      assert.equal("1\0" .. "2", a)
      assert.equal(2.5, b)
      assert.is_nil(extra)
      db:close()
    end)

    it("raises an ERR packet that ends a result early and stays usable", function()
      local p = peer.start("error_mid_rows")
      local db = connect_ok(p)
      local err = raises(1317, db.query, db, "SELECT seq FROM t")
      assert.equal("70100", err.sqlstate)
      assert.equal("Query execution was interrupted", err.message)
      assert.equal(1, db:query("SELECT 1"):row(1, "a")[1])
      db:close()
    end)

    it("raises an ERR packet that ends a stream early", function()
      local p = peer.start("error_mid_rows")
      local db = connect_ok(p)
      local cur = db:cursor{ stream = true }
      cur:execute("SELECT seq FROM t")
      assert.equal(1, cur:fetch().seq)
      assert.equal(2, cur:fetch().seq)
      raises(1317, cur.fetch, cur)
      cur:close()
      assert.equal(1, db:query("SELECT 1"):row(1, "a")[1])
      db:close()
    end)

    it("loses a stream whose peer closes after the first row", function()
      local p = peer.start("close_after_first_row")
      local db = connect_ok(p)
      local cur = db:cursor{ stream = true }
      cur:execute("SELECT seq FROM t")
      assert.equal("seq", cur.columns[1].name)
      assert.equal(1, cur:fetch().seq)
      local _, elapsed = raises(2013, cur.fetch, cur)
      assert.is_true(elapsed < 0.9, "took " .. elapsed .. " s")
      cur:close()
      assert_broken(db)
    end)

    it("does not report success when the peer closes before a promised next result", function()
      local p = peer.start("more_results_then_close")
      local db = connect_ok(p)
      raises(2013, db.query, db, "UPDATE t SET a = 1; SELECT 1")
      assert_broken(db)
    end)

    it("loses the connection when the peer closes mid-result", function()
      local p = peer.start("close_mid_result")
      local db = connect_ok(p)
      local _, elapsed = raises(2013, db.query, db, "SELECT 1")
      assert.is_true(elapsed < 0.9, "took " .. elapsed .. " s")
      assert_broken(db)
    end)

    it("times out on a 16 MiB packet that never arrives, without a huge allocation", function()
      local p = peer.start("huge_packet_header")
      local db = connect_ok(p)
      local before = rss_kb()
      local _, elapsed = raises(2013, db.query, db, "SELECT 1")
      local grown = rss_kb() - before
      assert.is_true(elapsed < 2.5, "took " .. elapsed .. " s")
      assert.is_true(grown < 64 * 1024, "RSS grew by " .. grown .. " kB")
      assert_broken(db)
    end)
  end)

  describe("that stops reading", function()
    it("cannot hold the client past write_timeout", function()
      local p = peer.start("deaf")
      local db = connect_ok(p, { write_timeout = 1, max_packet = 64 * 1024 * 1024 })
      -- far more than the socket buffers of both ends can absorb
      local sql = "SELECT '" .. string.rep("x", 48 * 1024 * 1024) .. "'"
      local _, elapsed = raises(2013, db.query, db, sql)
      assert.is_true(elapsed >= 0.9, "gave up early: " .. elapsed .. " s")
      assert.is_true(elapsed < 2.5, "took " .. elapsed .. " s")
      assert_broken(db)
    end)
  end)

  describe("that asks for a file nobody offered", function()
    it("gets no byte of it and the query raises 2068", function()
      local p = peer.start("local_infile_unasked")
      local db = connect_ok(p)
      local _, elapsed = raises(2068, db.query, db, "SELECT 1")
      db:close()
      assert.is_true(elapsed < 0.9, "took " .. elapsed .. " s")
      assert.equal("0", p:value("infile_bytes"))
      local ending = p:value("infile_end")
      assert.is_true(ending == "empty_packet" or ending == "closed", "peer saw: " .. tostring(ending))
    end)
  end)

  describe("that keeps the socket full", function()
    it("cannot hold a buffered query past read_timeout with rows that never end", function()
      local p = peer.start("flood")
      local db = connect_ok(p, { read_timeout = 0.3 })
      local _, elapsed = raises(2013, db.query, db, "SELECT x FROM endless")
      assert.is_true(elapsed < 1.0, "took " .. elapsed .. " s")
      assert_broken(db)
    end)
  end)

  describe("that sends more results after a refused LOCAL INFILE", function()
    it("raises 2068 and stays in sync for the next query", function()
      local p = peer.start("infile_more")
      local db = connect_ok(p)
      local _, elapsed = raises(2068, db.query, db,
        "LOAD DATA LOCAL INFILE '/etc/passwd' INTO TABLE t; SELECT 42 AS leftover")
      assert.is_true(elapsed < 0.9, "took " .. elapsed .. " s")
      assert.equal("0", p:value("infile_bytes"))
      assert.equal("empty_packet", p:value("infile_end"))
      -- the result that followed the refusal was discarded, not read as this one's
      local res = db:query("SELECT 1")
      assert.equal("1", res.columns[1].name)
      assert.same({ 1 }, res:row(1, "a"))
      assert.is_nil(res:next_result())
      assert.is_true(db:ping())
      assert.equal(1, db:query("SELECT 1"):row(1, "a")[1])
      db:close()
    end)
  end)

  describe("that drops a stream", function()
    it("raises 2013 on the fetch that loses it and 2006 on every later use of the cursor", function()
      local p = peer.start("close_after_first_row")
      local db = connect_ok(p)
      local cur = db:cursor{ stream = true }
      cur:execute("SELECT seq FROM t")
      assert.equal(1, cur:fetch().seq)
      raises(2013, cur.fetch, cur)
      -- a lost stream never looks like a finished one
      raises(2006, cur.fetch, cur)
      raises(2006, cur.fetch, cur, {}, "a")
      raises(2006, function()
        for _ in cur:rows() do error("a row from a lost stream") end
      end)
      raises(2006, cur.next_result, cur)
      raises(2006, cur.fetch, cur)
      raises(2006, cur.execute, cur, "SELECT 1")
      assert.is_true(cur:close())
      assert.is_true(cur.closed)
      assert_broken(db)
    end)
  end)
end)
