-- Error objects: concatenated as their text, placed where the script
-- called the failing method (`where`), and numbered for a failing statement
-- of a multi-statement query (`statement`).

local helpers = require "helpers"
local mylua = require "mylua"
local safe = require "mylua.safe"

-- "file:line:" of the caller, as luaL_where gives it.
local function here()
  local info = debug.getinfo(2, "Sl")
  return ("%s:%d:"):format(info.short_src, info.currentline)
end

describe("error objects", function()
  local db

  setup(function()
    db = helpers.connect()
  end)

  teardown(function()
    if db then db:close() end
  end)

  local function server_error()
    local ok, err = pcall(db.query, db, "SELECT * FROM no_such_table_here")
    assert.is_false(ok)
    assert.is_true(mylua.is_error(err))
    return err
  end

  describe("concatenation", function()
    it("joins with strings and numbers on either side, as tostring gives them", function()
      local err = server_error()
      local text = tostring(err)
      assert.truthy(text:match("^ERROR 1146 %(42S02%): "), text)
      assert.equal("failed: " .. text, "failed: " .. err)
      assert.equal(text .. " (giving up)", err .. " (giving up)")
      assert.equal("1" .. text, 1 .. err)
      assert.equal(text .. "2.5", err .. 2.5)
      assert.equal(text .. text, err .. err)
      assert.equal("a " .. text .. " b", "a " .. err .. " b")
    end)

    it("raises for operands strings do not join with", function()
      local err = server_error()
      for _, v in ipairs{ {}, true, print } do
        local ok, msg = pcall(function() return v .. err end)
        assert.is_false(ok)
        assert.truthy(msg:find("attempt to concatenate a " .. type(v) .. " value", 1, true), msg)
        ok, msg = pcall(function() return err .. v end)
        assert.is_false(ok)
        assert.truthy(msg:find("attempt to concatenate a " .. type(v) .. " value", 1, true), msg)
      end
    end)
  end)

  describe("where", function()
    it("is the line of the script that called the failing method", function()
      local where, ok, err = here(), pcall(db.query, db, "SELECT * FROM no_such_table_here")
      assert.is_false(ok)
      assert.equal(where, err.where)
      -- a plain call, caught further out
      local line
      ok, err = pcall(function()
        line = here(); db:query("SELEC 1")
      end)
      assert.is_false(ok)
      assert.equal(1064, err.code)
      assert.equal(line, err.where)
    end)

    it("is fixed when the error is raised, not when it is caught or printed", function()
      local err = server_error()
      local first = err.where
      local again = pcall(error, err)
      assert.is_false(again)
      assert.equal(first, err.where)
      assert.is_nil(tostring(err):find(first, 1, true))
    end)

    it("points past mylua's own Lua code at the caller", function()
      -- RELEASE SAVEPOINT, sent by transaction() itself, fails when fn has
      -- ended the transaction: the error is placed at the transaction() call.
      local where, ok, err
      ok, err = pcall(function()
        db:transaction(function(conn)
          where = here(); conn:transaction(function(c) c:query("ROLLBACK") end)
        end)
      end)
      assert.is_false(ok)
      assert.is_true(mylua.is_error(err), tostring(err))
      assert.equal(1305, err.code)
      assert.equal(where, err.where)
      -- an error inside fn is placed in fn
      ok, err = pcall(db.transaction, db, function(conn)
        where = here(); conn:query("SELECT * FROM no_such_table_here")
      end)
      assert.is_false(ok)
      assert.equal(where, err.where)
    end)

    it("points at the caller through mylua.safe", function()
      local sdb = assert(safe.connect(helpers.params()))
      local where, res, err = here(), sdb:query("SELECT * FROM no_such_table_here")
      assert.is_nil(res)
      assert.equal(where, err.where)
      where, res, err = here(), sdb:transaction(function(c) return c:query("SELEC 1") end)
      assert.is_nil(res)
      assert.equal(1064, err.code)
      assert.matches("^" .. debug.getinfo(1, "S").short_src:gsub("%p", "%%%0") .. ":%d+:$", err.where)
      sdb:close()
    end)

    it("is set on a client error and on an object made by new_error", function()
      local where, ok, err = here(), pcall(mylua.connect, helpers.params({ port = 1, host = "127.0.0.1" }))
      assert.is_false(ok)
      assert.equal(2003, err.code)
      assert.equal(where, err.where)
      where, err = here(), mylua.new_error(1, "made")
      assert.equal(where, err.where)
    end)
  end)

  describe("statement", function()
    it("is absent for a single statement", function()
      assert.is_nil(server_error().statement)
    end)

    it("numbers the failing statement in the text", function()
      local err = server_error()
      err.statement = 3
      assert.equal("ERROR 1146 (42S02) in statement 3: " .. err.message, tostring(err))
      assert.equal("x ERROR 1146 (42S02) in statement 3: " .. err.message, "x " .. err)
      err.statement = nil
      assert.equal("ERROR 1146 (42S02): " .. err.message, tostring(err))
    end)
  end)
end)
