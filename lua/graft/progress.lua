-- What training shows at the bottom of a terminal: a progress line redrawn in place
-- and, above it, a live picture (graft.live) redrawn in place too. Messages go
-- above both through progress.say, which takes the bottom off, prints and puts it
-- back, so that no message runs into the progress line. Only a terminal gets any
-- of this: a log or a pipe gets the messages alone.
local core = require "graft.core"

local progress = {}

local picture = nil   -- the live picture's text (lines ending in "\n"), or nil
local line = nil      -- the progress line, or nil
local rows_above = 0  -- rows of the bottom drawn above the cursor's row
local drawn = false   -- whether anything was drawn since the last finish

local function picture_rows(text)
  local _, count = text:gsub("\n", "")
  return count
end

-- The terminal's width (a resized terminal is seen at the next draw).
function progress.columns()
  local columns = core.terminal_size()
  return columns or tonumber(os.getenv("COLUMNS")) or 80
end

local function erase()
  if rows_above == 0 and not line then return end
  io.stdout:write("\r", rows_above > 0 and ("\27[" .. rows_above .. "A") or "", "\27[J")
  rows_above = 0
end

local function draw()
  if picture then
    io.stdout:write(picture)
    rows_above = picture_rows(picture)
  end
  if line then io.stdout:write(line) end
  io.stdout:flush()
end

-- Shows text as the progress line, in place of the last one.
function progress.line(text)
  drawn = true
  if picture or rows_above > 0 then
    erase()
    line = text
    draw()
  else
    line = text
    io.stdout:write("\r", text, "\27[K")
    io.stdout:flush()
  end
end

-- Shows text (lines, each ending in "\n") as the live picture, in place of the last one.
function progress.picture(text)
  drawn = true
  erase()
  picture = text
  draw()
end

-- Prints a message above the picture and the progress line.
function progress.say(text)
  if not (picture or line) then
    print(text)
    return
  end
  erase()
  print(text)
  draw()
end

-- Takes the progress line away (at an epoch's end); the picture stays in place.
function progress.clear_line()
  if line then
    io.stdout:write("\r\27[K")
    io.stdout:flush()
    line = nil
  end
end

-- Takes the progress line away; the picture stays on the screen as printed text. Once
-- anything was drawn the cursor's row is cleared even when no line is: Ctrl-C makes
-- the terminal throw away output not yet shown, so a line taken away since (and the
-- epoch's line after it) may never have left the screen, and a message would run
-- into it. With nothing drawn (a log, a pipe) nothing is written.
function progress.finish()
  if drawn then io.stdout:write("\r\27[K") end
  drawn, line = false, nil
  picture, rows_above = nil, 0
  io.stdout:flush()
end

-- "1:05", "2:03:04"
function progress.time(seconds)
  seconds = math.floor(seconds + 0.5)
  if seconds >= 3600 then
    return string.format("%d:%02d:%02d", seconds // 3600, seconds % 3600 // 60, seconds % 60)
  end
  return string.format("%d:%02d", seconds // 60, seconds % 60)
end

-- A progress line from its fields, in order, that fits in `columns` - 3 characters
-- (writing the last column wraps on some terminals, and the terminal's echo of
-- Ctrl-C, "^C", must not wrap either). Each field is {text, drop =
-- n}: when the line is too long, fields are left out from the highest drop first
-- (nil: never); a field {bar = fraction} is the bar, 10 to 30 characters wide,
-- taking the room that is left (and left out under 10).
function progress.fit(fields, columns)
  local room = columns - 3
  local kept = {}
  for i, field in ipairs(fields) do kept[i] = true end
  local function length()
    local total, count = 0, 0
    for i, field in ipairs(fields) do
      if kept[i] then
        count = count + 1
        total = total + (field.bar and 12 or #field[1]) -- a bar is at least "[" 10 "]"
      end
    end
    return total + count - 1
  end
  while length() > room do
    local worst
    for i, field in ipairs(fields) do
      if kept[i] and field.drop and (not worst or field.drop > fields[worst].drop) then worst = i end
    end
    if not worst then break end
    kept[worst] = false
  end
  local spare = room - length()
  local parts = {}
  for i, field in ipairs(fields) do
    if kept[i] then
      if field.bar then
        local width = math.min(30, 10 + spare)
        local filled = math.floor(width * math.max(0, math.min(1, field.bar)) + 1e-9)
        parts[#parts + 1] = "[" .. ("="):rep(filled) .. (" "):rep(width - filled) .. "]"
      else
        parts[#parts + 1] = field[1]
      end
    end
  end
  return (table.concat(parts, " "):sub(1, room))
end

return progress
