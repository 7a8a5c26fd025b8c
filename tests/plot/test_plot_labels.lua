-- Titles, labels and legends come out exactly as written: quotes, underscores,
-- carets, backticks (no command substitution), @ (no macros), backslashes.
local h = dofile(debug.getinfo(1, "S").source:match("^@(.*/)") .. "helpers.lua")
local plot = require "graft.plot"
local dir = h.folder()

local title = [[it's "quoted" under_score x^2 `echo injected` @macro back\slash $HOME {braces} 'q' @x]]
local xlabel = [[H(W_self) - H(W_other) 'single']]
local legend = [[net_1 "dq" `id` it''s]]
local svg = dir .. "/labels.svg"
plot.lines{series = {{y = {1, 3, 2}, title = legend}}, title = title, xlabel = xlabel,
           ylabel = "alpha_l", out = svg}

-- The SVG's text elements hold the labels verbatim (after XML unescaping).
local texts = {}
for body in h.read(svg):gmatch("<text[^>]*>(.-)</text>") do
  local unescaped = body:gsub("<[^>]+>", ""):gsub("&quot;", '"'):gsub("&apos;", "'")
                        :gsub("&#39;", "'"):gsub("&lt;", "<"):gsub("&gt;", ">"):gsub("&amp;", "&")
  texts[unescaped] = true
end
local seen = {}
for t in pairs(texts) do seen[#seen + 1] = t end
for _, label in ipairs{title, xlabel, legend, "alpha_l"} do
  h.check(texts[label], "the SVG lacks the label %q; its texts are:\n%s", label, table.concat(seen, "\n"))
end

-- Multi-line titles: each line as written.
plot.lines{series = {{y = {1, 2}}}, title = "first 'line'\nsecond_line", out = svg}
local text = h.read(svg)
h.contains(text, "<text>first 'line'</text>", "SVG")
h.contains(text, "<text>second_line</text>", "SVG")

-- The quoting itself: text in single quotes, quotes and line breaks joined in.
for text, quoted in pairs{["a'b"] = [['a'.GRAFT_QUOTE.'b']], ["a\nb"] = [['a'."\n".'b']], [""] = [[""]],
                         ["''"] = [[GRAFT_QUOTE.GRAFT_QUOTE]], ["x\r\ny"] = [['x'."\n".'y']]} do
  h.check(plot.gnuplot.quote(text) == quoted, "quote(%q) = %s", text, plot.gnuplot.quote(text))
end

plot.gnuplot.close()
h.cleanup()
print("plot labels: ok")
