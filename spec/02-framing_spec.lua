-- Framing, tested on bytes over the in-memory transport: headers, sequence
-- ids, the 0xFFFFFF boundary, reassembly and splitting, max_packet
-- ceilings, deadlines (a silent peer, a peer that keeps the buffer full),
-- short reads, and the fault-injecting layer.  The cases live in
-- spec/support/test_framing.c, built as test-framing next to the host
-- program (build/ or build-san/); each line it prints becomes one test
-- here.  No server is needed.

local helpers = require "helpers"

local MIN_CASES = 40

local function framing_program()
  local bin = os.getenv("MYLUA_BIN")
  if bin and bin ~= "" then
    local dir = bin:match("^(.*/)[^/]*$") or ""
    return dir .. "test-framing"
  end
  return "build/test-framing"
end

local program = framing_program()
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

describe("framing", function()
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
