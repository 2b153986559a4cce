-- mylua.safe: the mylua API returning nil, err instead of raising, for code
-- written in that Lua style.  err is the same error object mylua raises.
--
-- Iterators (res:rows(), cur:rows()) still raise: a for loop cannot return
-- an error, and ending it quietly would look like the end of the data.  Use
-- cur:fetch(), which returns nil, err, to read a stream in this style.
local mylua = require "mylua"
local core = require "mylua.core"

local safe = {
  version = mylua.version,
  null = mylua.null,
  is_error = mylua.is_error,
  new_error = mylua.new_error,
  -- the helpers for scripts raise only for a bad argument, as Lua's own do
  now = mylua.now,
  monotonic = mylua.monotonic,
  sleep = mylua.sleep,
  log = mylua.log,
  progress = mylua.progress,
}

local RAW = {} -- key under which a proxy keeps the object it wraps
local cursor_mt = core.cursor_metatable
local statement_mt = core.statement_metatable

-- mylua.decimal(s) and the other typed values: nil, err for a bad value.
for _, name in ipairs{ "decimal", "date", "datetime", "time", "blob" } do
  local make = mylua[name]
  safe[name] = function(...)
    local ok, v = pcall(make, ...)
    if not ok then return nil, v end
    return v
  end
end

local wrap

-- Turns a raising method into one that returns nil, err.
local function protect(fn)
  return function(self, ...)
    local results = table.pack(pcall(fn, self[RAW], ...))
    if not results[1] then return nil, results[2] end
    for i = 2, results.n do results[i] = wrap(results[i]) end
    return table.unpack(results, 2, results.n)
  end
end

local function get(object, key) return object[key] end

-- `overrides` are methods written for the proxy itself.
local function proxy_metatable(kind, overrides)
  local cache = {}
  return {
    __index = function(proxy, key)
      if overrides[key] then return overrides[key] end
      local ok, value = pcall(get, proxy[RAW], key)
      if not ok then return nil end -- a field of a closed object
      if type(value) ~= "function" then return value end
      local protected = cache[key]
      if not protected then
        protected = protect(value)
        cache[key] = protected
      end
      return protected
    end,
    __close = function(proxy) pcall(proxy[RAW].close, proxy[RAW]) end,
    __tostring = function(proxy) return tostring(proxy[RAW]) end,
    __len = function(proxy) return #proxy[RAW] end,
    __name = kind,
  }
end

local connection_overrides = {}

local function callable(v)
  if type(v) == "function" then return true end
  local mt = getmetatable(v)
  return type(mt) == "table" and mt.__call ~= nil
end

-- transaction([opts,] fn, ...) as mylua's (nested: a savepoint).  fn gets
-- the safe connection; it fails by raising or, in this style, by returning
-- nil, err: either way its work is rolled back and transaction returns
-- nil, err (err the value fn raised or returned, unchanged).
function connection_overrides.transaction(proxy, opts, ...)
  local db = proxy[RAW]
  local function wrap_fn(fn)
    if not callable(fn) then return fn end
    return function(_, ...)
      local results = table.pack(fn(proxy, ...))
      if results[1] == nil and results.n >= 2 and results[2] ~= nil then error(results[2], 0) end
      return table.unpack(results, 1, results.n)
    end
  end
  local results
  if callable(opts) then
    results = table.pack(pcall(db.transaction, db, wrap_fn(opts), ...))
  else
    results = table.pack(pcall(db.transaction, db, opts, (wrap_fn((...))), select(2, ...)))
  end
  if not results[1] then return nil, results[2] end
  return table.unpack(results, 2, results.n)
end

local connection_proxy = proxy_metatable("mylua.safe.connection", connection_overrides)
local cursor_proxy = proxy_metatable("mylua.safe.cursor", {})
local statement_proxy = proxy_metatable("mylua.safe.statement", {})

function wrap(value)
  local mt = getmetatable(value)
  if mt == cursor_mt then
    return setmetatable({ [RAW] = value }, cursor_proxy)
  elseif mt == statement_mt then
    return setmetatable({ [RAW] = value }, statement_proxy)
  end
  return value
end

function safe.connect(options)
  local ok, db = pcall(mylua.connect, options)
  if not ok then return nil, db end
  return setmetatable({ [RAW] = db }, connection_proxy)
end

return safe
