-- Small operations made cheaper: a query run again shares the columns and
-- the names of the result before it (the same definitions, byte for
-- byte), connect reads only the options its layers name, and a numeric
-- address is used without a name lookup.  What each must still get right.

local helpers = require "helpers"
local mylua = require "mylua"

local function names(res)
  local out = {}
  for i, c in ipairs(res.columns) do out[i] = c.name end
  return table.concat(out, ",")
end

describe("a query run again", function()
  local db

  before_each(function() db = helpers.connect() end)
  after_each(function()
    if db then db:close() end
    db = nil
  end)

  it("gives each result its own values under the same names", function()
    local results = {}
    for i = 1, 5 do results[i] = db:query("SELECT ? AS a, ? AS b", i, "v" .. i) end
    for i = 1, 5 do
      local row = results[i]:row(1)
      assert.equal(i, row.a)
      assert.equal("v" .. i, row.b)
      assert.equal("a,b", names(results[i]))
    end
  end)

  it("takes new names when only a later column differs", function()
    local first = db:query("SELECT 1 AS a, 2 AS b, 3 AS c"):row(1)
    assert.same({ a = 1, b = 2, c = 3 }, first)
    local res = db:query("SELECT 1 AS a, 2 AS b, 'x' AS d")
    assert.equal("a,b,d", names(res))
    assert.same({ a = 1, b = 2, d = "x" }, res:row(1))
    assert.equal("VAR_STRING", res.columns[3].type)
    -- and back: the first shape again, after the cache moved on
    assert.same({ a = 1, b = 2, c = 3 }, db:query("SELECT 1 AS a, 2 AS b, 3 AS c"):row(1))
  end)

  it("converts by the new type when only a column's type changes", function()
    assert.equal(1, db:query("SELECT 1 AS a"):row(1).a)
    local v = db:query("SELECT '1' AS a"):row(1).a
    assert.equal("string", type(v))
    assert.equal("1", v)
    local d = db:query("SELECT 1.5 AS a"):row(1).a
    assert.equal("NEWDECIMAL", db:query("SELECT 1.5 AS a").columns[1].type)
    assert.is_not_nil(d)
    assert.equal(1, db:query("SELECT 1 AS a"):row(1).a)
  end)

  it("keeps a result readable after later queries and after the connection closed", function()
    local early = db:query("SELECT seq AS n FROM seq_1_to_3")
    for _ = 1, 3 do db:query("SELECT seq AS n FROM seq_1_to_3") end
    db:query("SELECT 'other' AS m")
    db:close()
    db = nil
    collectgarbage()
    local got = {}
    for row in early:rows() do got[#got + 1] = row.n end
    assert.same({ 1, 2, 3 }, got)
    assert.equal("n", names(early))
  end)

  it("gives the same values as a fresh connection over many repeats", function()
    local other = helpers.connect()
    local sql = "SELECT seq AS id, CONCAT('r', seq) AS s, seq * 1.5 AS d FROM seq_1_to_4 WHERE seq = ?"
    for i = 1, 4 do
      for _ = 1, 3 do
        assert.same(other:query(sql, i):row(1), db:query(sql, i):row(1))
      end
      assert.same(db:query(sql, i):row(1, "a"), { i, "r" .. i, other:query(sql, i):row(1).d })
    end
    other:close()
  end)

  it("reads a statement's binary columns as before, between text queries", function()
    db:query("SELECT 1 AS a")
    local st = db:prepare("SELECT ? AS a")
    assert.equal(7, st:execute(7):row(1).a)
    assert.equal(1, db:query("SELECT 1 AS a"):row(1).a)
    assert.equal(8, st:execute(8):row(1).a)
    st:close()
  end)
end)

describe("connect", function()
  it("reads options a proxy table serves from __index", function()
    local p = helpers.params()
    local proxy = setmetatable({}, { __index = p })
    local db = mylua.connect(proxy)
    assert.equal(p.database, db:query("SELECT DATABASE() AS d"):row(1).d)
    db:close()
  end)

  it("still refuses a bad value of an option given", function()
    assert.has_error(function() mylua.connect(helpers.params { port = "x" }) end)
    assert.has_error(function() mylua.connect(helpers.params { connect_timeout = "x" }) end)
  end)

  it("reaches the server by a numeric address", function()
    local db = mylua.connect(helpers.params { host = "127.0.0.1", protocol = "tcp" })
    assert.truthy(db.host_info:find("127.0.0.1", 1, true))
    assert.equal(1, db:query("SELECT 1 AS a"):row(1).a)
    db:close()
  end)

  it("fails on a numeric address where nothing listens, within the deadline", function()
    local t0 = helpers.now()
    local ok, err = pcall(mylua.connect, helpers.params {
      host = "127.0.0.1", port = 1, protocol = "tcp", connect_timeout = 5 })
    assert.is_false(ok)
    assert.equal(2003, err.code)
    assert.truthy(helpers.now() - t0 < 5)
  end)
end)
