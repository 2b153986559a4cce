-- mylua.migrate.cli: `mylua migrate COMMAND [options]`.  main() returns
-- the exit status: 0 done, 1 an error or a problem verify found (one line
-- on stderr), 2 a usage error, 3 the lock is held by another run.
local cli = {}

local USAGE = [[
usage: mylua [connection options] migrate COMMAND [options]
commands:
  status             list every migration and its state
  up                 apply the pending migrations, oldest first
  down               undo the newest applied migration (with --to: every one above VERSION)
  redo               undo the newest applied migration and apply it again
  new NAME           write DIR/<UTC yyyymmddHHMMSS>_NAME.sql with its up and down parts
  verify             check the history against the files; exit 1 on a problem
  baseline VERSION   record the migrations up to VERSION as applied without running them
  repair             forget failed and unfinished migrations (after the schema was fixed)
options:
  --dir DIR              the migrations' directory (default: migrations)
  --table NAME           the history table (default: mylua_migrations)
  --to VERSION           up: stop after VERSION; down: undo down to VERSION (kept)
  --dry-run              print what would run, with its statements; change nothing
  --lock-timeout SECS    wait up to SECS for another run to finish (default 60), then exit 3
  --lock-method M        auto (default: a lock row on a Galera node, else GET_LOCK), get_lock, table
  --lock-stale SECS      a lock row whose heartbeat is older is taken over (default 30)
  --out-of-order         up: also apply pending migrations older than the newest applied
  --checksums            repair: also accept the current checksum of changed applied files
  --lua                  new: write a .lua migration instead
  --help                 print this help
]]

local VALUED = { ["--dir"] = "dir", ["--table"] = "table", ["--to"] = "to", ["--lock-timeout"] = "lock_timeout",
                 ["--lock-method"] = "lock_method", ["--lock-stale"] = "lock_stale" }
local FLAGS = { ["--dry-run"] = "dry_run", ["--out-of-order"] = "out_of_order", ["--checksums"] = "checksums",
                ["--lua"] = "lua", ["--help"] = "help", ["-?"] = "help" }
local COMMANDS = { status = 0, up = 0, down = 0, redo = 0, new = 1, verify = 0, baseline = 1, repair = 0 }

local function usage_error(fmt, ...)
  error({ usage = fmt:format(...) }, 0)
end

local function parse(args)
  local o, words = {}, {}
  local i = 1
  while i <= #args do
    local a = args[i]
    local name, value = a:match("^(%-%-[%w-]+)=(.*)$")
    name = name or a
    if VALUED[name] then
      if not value then
        i = i + 1
        value = args[i]
        if value == nil then usage_error("'%s' needs a value", name) end
      end
      o[VALUED[name]] = value
    elseif FLAGS[name] and not value then
      o[FLAGS[name]] = true
    elseif a:sub(1, 1) == "-" and a ~= "-" then
      usage_error("unknown option '%s'", a)
    else
      words[#words + 1] = a
    end
    i = i + 1
  end
  if o.help then return o end
  local command = words[1]
  if not command then usage_error("which command? (status, up, down, redo, new, verify, baseline, repair)") end
  if not COMMANDS[command] then usage_error("unknown command '%s'", command) end
  if #words - 1 ~= COMMANDS[command] then
    usage_error("'%s' takes %s", command, COMMANDS[command] == 0 and "no argument"
      or (command == "new" and "a NAME" or "a VERSION"))
  end
  o.command, o.arg = command, words[2]
  if o.lock_timeout then
    local t = tonumber(o.lock_timeout)
    if not t or t ~= t or t < 0 or t > 31536000 then
      usage_error("'--lock-timeout' needs a number of seconds, 0 or more (got '%s')", o.lock_timeout)
    end
    o.lock_timeout = t
  end
  if o.lock_method and o.lock_method ~= "auto" and o.lock_method ~= "get_lock" and o.lock_method ~= "table" then
    usage_error("'--lock-method' must be auto, get_lock or table (got '%s')", o.lock_method)
  end
  if o.lock_stale then
    local t = tonumber(o.lock_stale)
    if not t or not (t >= 0.1 and t <= 86400) then
      usage_error("'--lock-stale' needs a number of seconds from 0.1 to 86400 (got '%s')", o.lock_stale)
    end
    o.lock_stale = t
  end
  if o.to and not o.to:match("^%d+$") then usage_error("'--to' needs a version (digits), got '%s'", o.to) end
  return o
end

local function fmt_row(cols, widths)
  local out = {}
  for i, c in ipairs(cols) do out[i] = i < #cols and ("%-" .. widths[i] .. "s"):format(c) or c end
  return table.concat(out, "  ")
end

local STATE_WORDS = {
  out_of_order = "out of order", rolled_back = "rolled back",
}

local function print_status(entries, out)
  if #entries == 0 then
    out:write("no migrations\n")
    return
  end
  local rows = { { "VERSION", "STATE", "APPLIED (UTC)", "NAME" } }
  local counts = {}
  for _, e in ipairs(entries) do
    local h = e.history
    rows[#rows + 1] = { tostring(e.version), STATE_WORDS[e.state] or e.state,
                        h and tostring(h.applied_at):sub(1, 19) or "-", e.name }
    counts[e.state] = (counts[e.state] or 0) + 1
  end
  local widths = {}
  for _, r in ipairs(rows) do
    for i, c in ipairs(r) do widths[i] = math.max(widths[i] or 0, #c) end
  end
  for _, r in ipairs(rows) do out:write(fmt_row(r, widths), "\n") end
  local summary = {}
  for _, s in ipairs{ "applied", "baseline", "pending", "out_of_order", "changed", "missing", "running", "failed",
      "rolled_back" } do
    if counts[s] then summary[#summary + 1] = ("%d %s"):format(counts[s], STATE_WORDS[s] or s) end
  end
  out:write(table.concat(summary, ", "), "\n")
end

local function print_plan(rec, out)
  local verb = rec.direction == "up" and "apply" or "undo"
  out:write(("would %s %d_%s (%s, %s)\n"):format(verb, rec.version, rec.name, rec.file,
    rec.transactional and "in one transaction" or ("without a transaction: " .. (rec.reason or ""))))
  if rec.statements then
    for i, s in ipairs(rec.statements) do
      out:write(("  -- statement %d, line %s\n  %s;\n"):format(i, tostring(s.line or "?"),
        (s.sql:gsub("\n", "\n  "))))
    end
    if #rec.statements == 0 then out:write("  (no statements)\n") end
  else
    out:write(("  %s(db) of %s\n"):format(rec.direction, rec.file))
  end
end

local function run(migrate, o, db, out)
  if o.command == "new" then
    out:write(migrate.new_file(o.dir or "migrations", o.arg, o.lua and "lua" or "sql"), "\n")
    return 0
  end
  if not db then db = require("mylua").connect() end
  local m = migrate.new(db, { dir = o.dir, table = o.table, lock_timeout = o.lock_timeout,
    lock_method = o.lock_method, lock_stale = o.lock_stale,
    log = function(line) out:write(line, "\n") out:flush() end })
  local c = o.command
  if c == "status" then
    print_status(m:status(), out)
  elseif c == "verify" then
    local v = m:verify()
    for _, p in ipairs(v.problems) do io.stderr:write("mylua: migrate: ", p.message, "\n") end
    if not v.ok then return 1 end
    out:write(("ok: %d migration%s checked\n"):format(#v.entries, #v.entries == 1 and "" or "s"))
  elseif c == "up" or c == "down" or c == "redo" then
    local r = m[c](m, { to = o.to, dry_run = o.dry_run, out_of_order = o.out_of_order })
    if o.dry_run then
      for _, rec in ipairs(r.ran) do print_plan(rec, out) end
    end
    if #r.ran == 0 then out:write(c == "up" and "nothing to apply\n" or "nothing to undo\n") end
    if c == "up" and not o.dry_run then
      for _, e in ipairs(m:status()) do
        if e.state == "missing" then
          io.stderr:write(("mylua: migrate: warning: %d_%s was applied, and its file is gone\n"):format(
            e.version, e.name))
        end
      end
    end
  elseif c == "baseline" then
    for _, mk in ipairs(m:baseline(o.arg).marked) do
      out:write(("baseline %d_%s\n"):format(mk.version, mk.name))
    end
  elseif c == "repair" then
    local r = m:repair{ checksums = o.checksums }
    for _, x in ipairs(r.removed) do out:write(("removed %d_%s (%s)\n"):format(x.version, x.name, x.status)) end
    for _, x in ipairs(r.rechecked) do
      out:write(("checksum of %d_%s now %s (was %s)\n"):format(x.version, x.name, x.new, x.old))
    end
    if #r.removed + #r.rechecked == 0 then out:write("nothing to repair\n") end
  end
  return 0
end

local function one_line(s)
  return (tostring(s):gsub("%s*\r?\n%s*", " "))
end

-- main(migrate, args [, db [, out]]): args as after `mylua migrate`; db a
-- connection (default mylua.connect(), the host's options); out where the
-- listings go (default io.stdout).  Returns the exit status.
function cli.main(migrate, args, db, out)
  out = out or io.stdout
  local ok, o = pcall(parse, args or {})
  if not ok then
    if type(o) == "table" and o.usage then
      io.stderr:write("mylua: migrate: ", o.usage, "\n", "('mylua migrate --help' lists the commands)\n")
      return 2
    end
    error(o, 0)
  end
  if o.help then
    out:write(USAGE)
    return 0
  end
  local done, status = pcall(run, migrate, o, db, out)
  out:flush()
  if done then return status end
  local err = status
  if migrate.is_error(err) then
    io.stderr:write("mylua: migrate: ", one_line(err.message), "\n")
    return err.kind == "lock" and 3 or err.kind == "usage" and 2 or 1
  end
  io.stderr:write("mylua: migrate: ", one_line(err), "\n")
  return 1
end

return cli
