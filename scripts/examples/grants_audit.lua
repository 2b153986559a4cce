-- grants_audit.lua: who may log in, with which global privileges, and what
-- looks risky.
--
--   mylua [connection options] grants_audit.lua [--findings-only]
--         [--fail-on-findings] [--users PATTERN] [--ignore USER@HOST]...
--
-- Lists every account and role of mysql.user with its authentication
-- plugin, its global privileges and the roles granted to it (from SHOW
-- GRANTS FOR each), then the findings, one line each:
--   - an account without a password whose plugin needs one (not locked),
--   - an anonymous account (empty user name),
--   - an account that connects from any host ('%'),
--   - global ALL PRIVILEGES, SUPER, FILE or GRANT OPTION, for an account or
--     a role (whoever holds the role has them too).
--
--   --findings-only     print only the findings (nothing when there are none)
--   --fail-on-findings  exit with status 1 when there is a finding
--   --users PATTERN     only user (and role) names LIKE PATTERN
--   --ignore USER@HOST  an accepted account: not checked (may be repeated)
--
-- The connection needs SELECT on mysql.user and the right to SHOW GRANTS
-- of other accounts.  Exit status: 0, 1 (an error, or findings with
-- --fail-on-findings), 2 (bad usage).

local mylua = require "mylua"
local args = require "mylua.args"

local USAGE = [[
usage: mylua [connection options] grants_audit.lua [--findings-only]
       [--fail-on-findings] [--users PATTERN] [--ignore USER@HOST]...
]]

local opts, rest = args.parse(arg, {
  ["findings-only"] = "flag", ["fail-on-findings"] = "flag", users = "value", ignore = "list",
}, USAGE)
if #rest > 0 then args.usage_error("unexpected argument " .. rest[1]) end
local ignored = {}
for _, account in ipairs(opts.ignore or {}) do
  local user, host = account:match("^(.*)@([^@]*)$")
  if not user then args.usage_error("--ignore needs USER@HOST, not " .. account) end
  ignored[user .. "@" .. host] = true
end

-- Plugins that check a password: with an empty one, anybody gets in.
local PASSWORD_PLUGINS = {
  [""] = true, mysql_native_password = true, mysql_old_password = true,
  caching_sha2_password = true, sha256_password = true, ed25519 = true, parsec = true,
}
local RISKY = { ["ALL PRIVILEGES"] = true, SUPER = true, FILE = true, ["GRANT OPTION"] = true }

local db <close> = mylua.connect()

local function name_of(account)
  if account.role then return db:quote_name(account.user) end
  return db:quote_name(account.user) .. "@" .. db:quote_name(account.host)
end

-- The global privileges and granted roles SHOW GRANTS names.
local function read_grants(account)
  local res = account.role and db:query("SHOW GRANTS FOR ?", account.user)
    or db:query("SHOW GRANTS FOR ?@?", account.user, account.host)
  local privileges, roles = {}, {}
  for line in res:rows("v") do
    local list, tail = line:match("^GRANT (.-) ON %*%.%* TO (.*)$")
    if list then
      for privilege in list:gmatch("[^,]+") do privileges[#privileges + 1] = privilege:match("^%s*(.-)%s*$") end
      if tail:find(" WITH GRANT OPTION$") then privileges[#privileges + 1] = "GRANT OPTION" end
    elseif not line:find(" ON ", 1, true) then
      local granted = line:match("^GRANT (.-) TO ")
      if granted then roles[#roles + 1] = granted end
    end
  end
  return privileges, roles
end

local accounts = {}
local res = db:query("SELECT * FROM mysql.user WHERE User LIKE ? ORDER BY User, Host", opts.users or "%")
for row in res:rows() do
  local account = {
    user = row.User, host = row.Host, plugin = row.plugin or "",
    no_password = (row.authentication_string or "") == "" and (row.Password or "") == "",
    role = row.is_role == "Y",
  }
  if not ignored[account.user .. "@" .. account.host] then accounts[#accounts + 1] = account end
end

local findings = {}
local function finding(account, fmt, ...)
  findings[#findings + 1] = name_of(account) .. ": " .. fmt:format(...)
end

local report = { { "account", "kind", "plugin", "global privileges", "roles" } }
for _, account in ipairs(accounts) do
  local privileges, roles = read_grants(account)
  report[#report + 1] = { name_of(account), account.role and "role" or "user", account.plugin,
    table.concat(privileges, ", "), table.concat(roles, ", ") }
  if not account.role then
    local locked = db:query("SHOW CREATE USER ?@?", account.user, account.host)
      :row(1, "a")[1]:find(" ACCOUNT LOCK", 1, true)
    if account.no_password and PASSWORD_PLUGINS[account.plugin] and not locked then
      finding(account, "no password (plugin %s)", account.plugin == "" and "default" or account.plugin)
    end
    if account.user == "" then finding(account, "anonymous account") end
    if account.host == "%" then finding(account, "connects from any host ('%%')") end
  end
  for _, privilege in ipairs(privileges) do
    if RISKY[privilege] then finding(account, "global %s", privilege) end
  end
end

-- Rows of text as left-aligned columns.
local function print_columns(rows)
  local widths = {}
  for _, row in ipairs(rows) do
    for i, text in ipairs(row) do widths[i] = math.max(widths[i] or 0, utf8.len(text) or #text) end
  end
  for _, row in ipairs(rows) do
    local cells = {}
    for i, text in ipairs(row) do cells[i] = text .. (" "):rep(widths[i] - (utf8.len(text) or #text)) end
    print((table.concat(cells, "  "):gsub("%s+$", "")))
  end
end

if not opts["findings-only"] then
  print_columns(report)
  print()
  print(#findings == 0 and "no findings" or "findings:")
end
for _, line in ipairs(findings) do print(line) end
mylua.log.debug("%d accounts, %d findings", #accounts, #findings)
if opts["fail-on-findings"] and #findings > 0 then os.exit(1) end
