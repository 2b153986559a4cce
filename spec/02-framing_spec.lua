-- Framing, tested on bytes over the in-memory transport: headers, sequence
-- ids, the 0xFFFFFF boundary, reassembly and splitting, max_packet
-- ceilings, deadlines (a silent peer, a peer that keeps the buffer full),
-- short reads, the fault-injecting layer, and the connection's rules over
-- a scripted login (its failures, the owner of a pending response).  The
-- cases live in spec/support/test_framing.c, built as test-framing next to
-- the host program; each line it prints becomes one test here.  No server
-- is needed.

local helpers = require "helpers"

describe("framing", function()
  for _, case in ipairs(helpers.c_cases("test-framing", 50)) do it(case.name, case.check) end
end)
