-- mylua.args: the command line of a job script, read the way the host
-- program and the mariadb client read theirs (--name=value, --name value,
-- --flag), with one way to fail: the script's name, what is wrong and the
-- usage on stderr, exit status 2 (a usage error, as the host's own).
--
--   local args = require "mylua.args"
--   local opts, rest = args.parse(arg, {
--     table = "value", days = "count", pause = "seconds", ["dry-run"] = "flag", schema = "list",
--   }, USAGE)
--   args.required(opts, "table", "days")
--   local schema, name = args.qualified_name(opts, "table")
--   if #rest > 0 then args.usage_error("unexpected argument " .. rest[1]) end
--
-- Kinds: "flag" (true when given), "value" (the text), "list" (a list of
-- every value given), "count" (a whole number >= 1), "seconds" (a finite
-- number >= 0).  --help prints the usage on stdout and exits 0.
local args = {}

local usage_text = ""

local function program()
  local name = type(arg) == "table" and arg[0]
  return type(name) == "string" and (name:match("[^/]+$") or name) or "mylua"
end

-- Says what is wrong with the command line, with the usage, and exits 2.
function args.usage_error(message)
  io.stderr:write(program(), ": ", message, "\n", usage_text)
  os.exit(2)
end

local function convert(kind, name, value)
  if kind == "count" then
    local n = math.tointeger(tonumber(value))
    if not (n and n >= 1) then args.usage_error(("--%s needs a whole number >= 1, not '%s'"):format(name, value)) end
    return n
  elseif kind == "seconds" then
    local n = tonumber(value)
    if not (n and n >= 0 and n < math.huge) then
      args.usage_error(("--%s needs seconds >= 0, not '%s'"):format(name, value))
    end
    return n
  end
  return value
end

local KINDS = { flag = true, value = true, list = true, count = true, seconds = true }

-- Reads argv (arg as the host gives it) by spec (option name -> kind):
-- the options given, and the other arguments in order.  `--` ends the
-- options.  An unknown option, a missing or bad value: usage_error.
function args.parse(argv, spec, usage)
  usage_text = usage or ""
  for name, kind in pairs(spec) do
    if not KINDS[kind] then error(("args.parse: option %s has an unknown kind %s"):format(name, tostring(kind)), 2) end
  end
  local opts, rest, i = {}, {}, 1
  while i <= #argv do
    local a = argv[i]
    local name, value = a:match("^%-%-([%w-]+)=(.*)$")
    name = name or a:match("^%-%-([%w-]+)$")
    local kind = name and spec[name]
    if a == "--" then
      table.move(argv, i + 1, #argv, #rest + 1, rest)
      break
    elseif a == "--help" and not spec.help then
      io.stdout:write(usage_text)
      os.exit(0)
    elseif not name then
      rest[#rest + 1] = a
    elseif not kind then
      args.usage_error("unknown option " .. a)
    elseif kind == "flag" then
      if value then args.usage_error("--" .. name .. " takes no value") end
      opts[name] = true
    else
      if not value then
        i = i + 1
        value = argv[i] or args.usage_error("--" .. name .. " needs a value")
      end
      value = convert(kind, name, value)
      if kind == "list" then
        opts[name] = opts[name] or {}
        table.insert(opts[name], value)
      else
        opts[name] = value
      end
    end
    i = i + 1
  end
  return opts, rest
end

-- A usage error for the first of the named options that was not given.
function args.required(opts, ...)
  for _, name in ipairs{ ... } do
    if opts[name] == nil then args.usage_error("--" .. name .. " is required") end
  end
end

-- The option's value read as SCHEMA.TABLE or TABLE: the schema (nil when
-- none) and the table; nothing when the option was not given.
function args.qualified_name(opts, name)
  local value = opts[name]
  if value == nil then return nil end
  local schema, object = value:match("^([^.]+)%.([^.]+)$")
  if schema then return schema, object end
  object = value:match("^[^.]+$")
  if not object then args.usage_error("--" .. name .. " needs SCHEMA.TABLE or TABLE, not '" .. value .. "'") end
  return nil, object
end

return args
