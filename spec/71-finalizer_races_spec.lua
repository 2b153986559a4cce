-- Finalizers that run inside an allocation of a method and close the very
-- object the method works on; option tables whose __index changes what was
-- already read; one row table refilled by two cursors.  Each case must end
-- in a clear error or a right result, never a crash or a read of freed
-- memory (the sanitizer run checks the latter).

local mylua = require "mylua"
local helpers = require "helpers"

-- Runs `body(i)` many times while garbage is made, so that a finalizer
-- set up by `body` runs inside some allocation of the call it makes.
local function churn(times, body)
  collectgarbage("generational", 1, 100)
  local outcomes = {}
  for i = 1, times do
    local junk = {}
    for k = 1, i % 50 do junk[k] = {} end
    local ok, err = body(i)
    local key = ok and "ok" or tostring(err):gsub("^.-:%d+: ", "")
    outcomes[key] = (outcomes[key] or 0) + 1
  end
  collectgarbage("incremental")
  return outcomes
end

-- Every outcome is either success or one of the allowed error texts.
local function only(outcomes, allowed)
  for k, n in pairs(outcomes) do
    local fine = k == "ok"
    for _, a in ipairs(allowed) do fine = fine or k:find(a, 1, true) ~= nil end
    assert(fine, ("unexpected outcome (%d times): %s"):format(n, k))
  end
end

describe("a finalizer that closes the object a method works on", function()
  it("res:next_result gives a clear error, not a crash", function()
    local db = helpers.connect()
    local outcomes = churn(3000, function()
      local res = db:query("SELECT 1; SELECT 2")
      setmetatable({}, { __gc = function() res:close() end })
      return pcall(res.next_result, res)
    end)
    only(outcomes, { "attempt to use a closed result" })
    db:close()
  end)

  it("db:escape and db:select_db with a number give a clear error, not a crash", function()
    local outcomes = churn(1500, function(i)
      local db = helpers.connect()
      setmetatable({}, { __gc = function() db:close() end })
      if i % 2 == 0 then return pcall(db.escape, db, 12345 + i) end
      return pcall(db.select_db, db, 7)
    end)
    -- select_db(7) names a database that does not exist: 1049 is a fine outcome
    only(outcomes, { "attempt to use a closed connection", "ERROR 1049", "ERROR 1044" })
  end)
end)

describe("connect's attrs", function()
  it("stay intact when a later option's __index clears the attrs table", function()
    local base = helpers.params()
    local attrs = { [("k"):rep(60) .. "x"] = ("v"):rep(100) .. "y" }
    local opts = setmetatable({}, { __index = function(_, k)
      if k == "attrs" then return attrs end
      if k == "max_packet" then
        for key in pairs(attrs) do attrs[key] = nil end
        collectgarbage()
        collectgarbage()
        local junk = {}
        for i = 1, 1000 do junk[i] = ("z"):rep(60) .. i end
        return nil
      end
      return base[k]
    end })
    local db = mylua.connect(opts)
    local res = db:query("SELECT ATTR_VALUE FROM performance_schema.session_connect_attrs "
      .. "WHERE PROCESSLIST_ID = CONNECTION_ID() AND ATTR_NAME = ?", ("k"):rep(60) .. "x")
    -- performance_schema may be off in the sandbox: then only the login is checked
    if #res == 1 then assert.equal(("v"):rep(100) .. "y", res:row(1).ATTR_VALUE) end
    assert.is_true(db:ping())
    db:close()
  end)
end)

describe("one table refilled by fetch(t) of two cursors", function()
  it("holds only the current cursor's row", function()
    local a, b = helpers.connect(), helpers.connect()
    local ca, cb = a:cursor(), b:cursor()
    ca:execute("SELECT seq AS a, seq + 1 AS b FROM seq_1_to_2")
    cb:execute("SELECT 9 AS c")
    local t = {}
    ca:fetch(t)
    assert.same({ a = 1, b = 2 }, t)
    cb:fetch(t)
    assert.same({ c = 9 }, t)
    ca:fetch(t)
    assert.same({ a = 2, b = 3 }, t)
    a:close()
    b:close()
  end)
end)
