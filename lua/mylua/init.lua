-- mylua: the module scripts require.  The protocol lives in C (mylua.core);
-- what reads better in Lua is added here.
local core = require "mylua.core"

local mylua = {
  version = core.version,
  null = core.null,
  connect = core.connect,
  is_error = core.is_error,
  new_error = core.new_error,
}

local methods = core.connection_methods

function methods:begin()
  self:query("START TRANSACTION")
  return true
end

function methods:commit()
  self:query("COMMIT")
  return true
end

function methods:rollback()
  self:query("ROLLBACK")
  return true
end

function methods:autocommit(on)
  self:query(on and "SET autocommit = 1" or "SET autocommit = 0")
  return true
end

-- Runs fn(db, ...) inside a transaction: commits and returns fn's results,
-- or rolls back and raises fn's error unchanged.  A failed ROLLBACK (the
-- connection may be gone) must not hide the error that caused it.
function methods:transaction(fn, ...)
  self:query("START TRANSACTION")
  local results = table.pack(pcall(fn, self, ...))
  if not results[1] then
    pcall(self.query, self, "ROLLBACK")
    error(results[2], 0)
  end
  self:query("COMMIT")
  return table.unpack(results, 2, results.n)
end

return mylua
