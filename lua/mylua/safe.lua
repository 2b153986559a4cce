-- mylua.safe: the mylua API returning nil, err instead of raising, for code
-- written in that Lua style.  err is the same error object mylua raises.
local mylua = require "mylua"
local core = require "mylua.core"

local safe = {
  version = mylua.version,
  null = mylua.null,
  is_error = mylua.is_error,
  new_error = mylua.new_error,
}

local RAW = {} -- key under which a proxy keeps the object it wraps
local cursor_mt = core.cursor_metatable

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

local function proxy_metatable(kind)
  local cache = {}
  return {
    __index = function(proxy, key)
      local value = proxy[RAW][key]
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

local connection_proxy = proxy_metatable("mylua.safe.connection")
local cursor_proxy = proxy_metatable("mylua.safe.cursor")

function wrap(value)
  if getmetatable(value) == cursor_mt then
    return setmetatable({ [RAW] = value }, cursor_proxy)
  end
  return value
end

function safe.connect(options)
  local ok, db = pcall(mylua.connect, options)
  if not ok then return nil, db end
  return setmetatable({ [RAW] = db }, connection_proxy)
end

return safe
