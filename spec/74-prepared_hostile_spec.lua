-- Prepared statements against a scripted peer (spec/support/stmtpeer.py):
-- a server without MariaDB's bulk command gets execute_many as pipelined
-- executes, and every malformed reply to a statement command ends in 2027
-- (or a lost connection) within the read timeout, never a crash or a
-- wrong value, and leaves the connection broken (2006).

local mylua = require "mylua"
local helpers = require "helpers"
local peer = require "support.peer"

local raises = helpers.raises

local function start(scenario)
  local p = peer.start(scenario, "stmtpeer.py")
  local ok, db = pcall(mylua.connect, {
    host = "127.0.0.1", port = p.port, user = "u", password = "p",
    connect_timeout = 2, read_timeout = 1,
  })
  assert(ok, "connect to the scripted peer failed: " .. tostring(db))
  return p, db
end

local function assert_broken(db)
  raises(2006, db.query, db, "SELECT 1")
  assert.is_true(db:close())
end

describe("prepared statements against a scripted peer", function()
  after_each(peer.stop_all)

  it("pipeline execute_many where the server has no bulk command, naming the failing row", function()
    local p, db = start("pipeline")
    local st = db:prepare("INSERT INTO t VALUES (?)")
    local err = raises(1062, st.execute_many, st, { { 1 }, { 2 }, { 3 }, { 4 }, { 5 } })
    assert.are.equal(3, err.row)
    assert.matches("Duplicate entry '3'", err.message)
    -- the connection stayed in step: the next command works
    assert.is_true(db:ping())
    db:close()
    assert.are.equal("5", p:value("executes"))
    -- all five went out before the first reply was awaited
    assert.are.equal("5", p:value("max_unanswered"))
  end)

  local cases = {
    prepare_truncated = { what = "a parameter definition cut short", at = "prepare" },
    prepare_huge = { what = "a prepare reply declaring 65535 columns, then nothing", at = "prepare",
                     code = 2013 },
    short_value = { what = "a LONGLONG value of 4 bytes", at = "execute" },
    short_bitmap = { what = "a binary row without its NULL bitmap", at = "execute" },
    bad_datetime = { what = "a DATETIME value of 5 bytes", at = "execute" },
    bad_fetch = { what = "a cursor fetch answered by a row cut short", at = "fetch" },
  }
  for _, scenario in ipairs{ "prepare_truncated", "prepare_huge", "short_value", "short_bitmap",
      "bad_datetime", "bad_fetch" } do
    local case = cases[scenario]
    it("rejects " .. case.what, function()
      local _, db = start(scenario)
      local code = case.code or 2027
      local before = helpers.collected_rss_kb()
      local t0 = os.clock()
      if case.at == "prepare" then
        raises(code, db.prepare, db, "SELECT ?")
      else
        local st = db:prepare("SELECT ?")
        assert.are.equal(1, st.param_count)
        if case.at == "execute" then
          raises(code, st.execute, st, 1)
        else
          local cur = st:cursor{ fetch_size = 10 }
          cur:execute(1)
          raises(code, function()
            for _ in cur:rows() do end
          end)
        end
      end
      assert.is_true(os.clock() - t0 < 0.9, "took too long")
      assert.is_true(helpers.collected_rss_kb() - before < 32 * 1024, "memory grew")
      assert_broken(db)
    end)
  end
end)
