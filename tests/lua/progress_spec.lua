-- The progress line's terminal output (graft.progress), with io.stdout replaced by a
-- recorder: what each call writes.
local progress = require "graft.progress"

-- runs f with io.stdout recording, returns what was written
local function written(f)
  local out, real = {}, io.stdout
  io.stdout = { write = function(self, ...) for _, s in ipairs { ... } do out[#out + 1] = s end return self end,
                flush = function(self) return self end }
  local ok, err = pcall(f)
  io.stdout = real
  assert(ok, err)
  return table.concat(out)
end

describe("the progress line", function()
  it("is drawn in place and taken away", function()
    expect.eq(written(function() progress.line("epoch 1/2 [==  ] 5/10") end), "\repoch 1/2 [==  ] 5/10\27[K")
    expect.eq(written(function() progress.clear_line() end), "\r\27[K")
    expect.eq(written(function() progress.clear_line() end), "", "no line: nothing to take away")
  end)

  it("finish clears the cursor's row once anything was drawn, even a line taken away", function()
    -- after Ctrl-C the terminal may have dropped the output that took the line away,
    -- so the row is cleared whatever progress.lua believes is on it
    written(function() progress.line("epoch 2/2 [====] 10/10") end)
    written(function() progress.clear_line() end)
    expect.eq(written(function() progress.finish() end), "\r\27[K")
    written(function() progress.line("epoch 2/2 [====] 10/10") end)
    expect.eq(written(function() progress.finish() end), "\r\27[K")
    -- nothing drawn since (a log, a pipe): nothing written
    expect.eq(written(function() progress.finish() end), "")
  end)

  it("fits a line into the terminal's width less three columns", function()
    local fields = { { "epoch 3/1000" }, { bar = 0.5, drop = 3 }, { "1/2000", drop = 4 },
                     { "loss 1.9604", drop = 5 }, { "0:00 left", drop = 2 }, { "(run 1:36)", drop = 1 } }
    for _, columns in ipairs { 40, 60, 110 } do
      local text = progress.fit(fields, columns)
      expect.truthy(#text <= columns - 3, #text .. " characters in " .. columns .. " columns")
      expect.contains(text, "epoch 3/1000")
    end
    -- fields go from the highest drop down: at 40 columns the loss, the count and the
    -- bar, the time left and the run's kept
    local narrow = progress.fit(fields, 40)
    expect.truthy(not narrow:find("loss", 1, true) and not narrow:find("[", 1, true), narrow)
    expect.contains(narrow, { "0:00 left", "(run 1:36)" })
    expect.contains(progress.fit(fields, 110), { "loss 1.9604", "1/2000", "[" })
  end)
end)
