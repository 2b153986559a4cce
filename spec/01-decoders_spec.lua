-- The pure decoders, tested on bytes: the length-encoded reader, the
-- handshake, OK/ERR/EOF, column definitions, text rows, the native password
-- token, escaping and charset lookup.  The cases live in
-- spec/support/decoders.c, built as test-decoders next to the host program
-- (build/ or build-san/); each line it prints becomes one test here.
-- No server is needed.

local helpers = require "helpers"

local MIN_CASES = 30

local function decoder_program()
  local bin = os.getenv("MYLUA_BIN")
  if bin and bin ~= "" then
    local dir = bin:match("^(.*/)[^/]*$") or ""
    return dir .. "test-decoders"
  end
  return "build/test-decoders"
end

local program = decoder_program()
local stdout, stderr, code = helpers.run(helpers.shell_quote(program))

local cases, not_ok = {}, 0
for line in stdout:gmatch("[^\n]+") do
  local name = line:match("^ok (.+)$")
  if name then
    cases[#cases + 1] = { name = name }
  else
    local failed, why = line:match("^not ok (.-): (.*)$")
    if not failed then failed, why = line:match("^not ok (.+)$"), "failed" end
    if failed then
      cases[#cases + 1] = { name = failed, why = why }
      not_ok = not_ok + 1
    end
  end
end

describe("decoders", function()
  for _, c in ipairs(cases) do
    it(c.name, function()
      assert(not c.why, c.why)
    end)
  end

  it("the program ran every case and exited 0", function()
    assert(#cases >= MIN_CASES, ("%s printed %d cases, expected at least %d (exit %s)%s")
      :format(program, #cases, MIN_CASES, tostring(code), stderr ~= "" and ("; stderr: " .. stderr) or ""))
    assert(code == 0, ("%s exited with %s (%d of %d cases not ok)%s"):format(program, tostring(code),
      not_ok, #cases, stderr ~= "" and ("; stderr: " .. stderr) or ""))
  end)
end)
