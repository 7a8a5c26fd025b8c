-- Training seen while it runs: graft.train{..., live = ...} and graft.run{..., live =
-- ...} draw the loss and the accuracy of every network against the epoch, redrawn
-- after every epoch (or every `live_every` batches):
--   live = true         in a terminal, a text picture (gnuplot's dumb terminal) above
--                       the progress line, redrawn in place (graft.progress); in the
--                       Jupyter kernel, one picture updated in place
--                       (update_display_data)
--   live = 'file.png'   a PNG (or .svg) rewritten whole under a temporary name and
--                       renamed, so that an image viewer watching it never reads half
-- Without a terminal or a kernel (a log, a pipe), live = true draws nothing and says
-- so once.
local core = require "graft.core"
local gnuplot = require "graft.gnuplot"
local progress = require "graft.progress"

local live = {}

local Board = {}
Board.__index = Board

local function jupyter_active()
  local ok, jupyter = pcall(require, "graft.jupyter")
  return ok and jupyter.active() and jupyter or nil
end

-- A board for `target` (true or a file name) of the function `owner` ("graft.train"),
-- or nil when there is nowhere to draw. Trainers are added with board:watch.
function live.board(target, owner)
  local board = setmetatable({ trainers = {}, owner = owner, count = 0 }, Board)
  if type(target) == "string" then
    local extension = (target:match("%.(%w+)$") or ""):lower()
    if extension ~= "png" and extension ~= "svg" then
      error(string.format("%s: live = '%s': the file name must end in .png or .svg", owner, target), 0)
    end
    -- a folder that is missing or cannot be written is said now, not after an epoch
    local probe = string.format("%s.tmp-probe-%d", target, core.process_id())
    local f, err = io.open(probe, "w")
    if not f then
      error(string.format("%s: live = '%s': cannot write in %s: %s", owner, target,
        target:match("^(.*)/[^/]*$") or ".", err:match(": ([^:]*)$") or err), 0)
    end
    f:close()
    os.remove(probe)
    board.mode, board.path = "file", target
  else
    board.jupyter = jupyter_active()
    if board.jupyter then
      board.mode = "jupyter"
      board.display_id = string.format("graft-live-%d-%d", os.time(), math.random(1, 1e9))
    elseif core.stdout_is_terminal() then
      board.mode = "terminal"
    else
      io.stderr:write(owner .. ": live = true draws nothing here (standard output is not a terminal "
        .. "and no Jupyter kernel runs this); live = 'file.png' writes a picture\n")
      return nil
    end
  end
  return board
end

function Board:watch(trainer)
  self.trainers[#self.trainers + 1] = trainer
  return self
end

-- The points of one network: loss and train accuracy per epoch and, while an epoch
-- runs, at its fraction done; test loss and accuracy per epoch.
local function points(trainer)
  local p = { loss = {}, train = {}, test_loss = {}, test = {} }
  for _, record in ipairs(trainer.history) do
    p.loss[#p.loss + 1] = { record.epoch, record.loss }
    p.train[#p.train + 1] = { record.epoch, record.train_top1 }
    if record.test_loss then p.test_loss[#p.test_loss + 1] = { record.epoch, record.test_loss } end
    if record.test_top1 then p.test[#p.test + 1] = { record.epoch, record.test_top1 } end
  end
  local run = trainer.running
  if run and run.images > 0 then
    local x = run.epoch - 1 + run.batch / run.batches
    p.loss[#p.loss + 1] = { x, run.loss_sum / run.images }
    p.train[#p.train + 1] = { x, 100 * run.hits / run.images }
  end
  return p
end

-- Integer ticks on the epoch axis: at most about 10 of them.
local function epoch_axis(epochs)
  local step = math.max(1, math.ceil(epochs / 10))
  return { string.format("set xrange [0:%d]", epochs), string.format("set xtics 0, %d", step),
           "set format x '%.0f'", "set xlabel 'epoch'" }
end

-- The figure: loss on the left, accuracy on the right, one colour per network, the
-- training curve solid and the test one dashed, the key under the panels.
function Board:figure(as_text)
  local blocks, loss_clauses, accuracy_clauses = {}, {}, {}
  local ranges = { [loss_clauses] = {}, [accuracy_clauses] = {} }
  local epochs = 1
  for k, trainer in ipairs(self.trainers) do
    epochs = math.max(epochs, trainer.options.epochs)
    local name = trainer.options.name or (#self.trainers > 1 and ("network " .. k)) or nil
    local p = points(trainer)
    for _, series in ipairs { { p.loss, "train loss", loss_clauses, 1 }, { p.test_loss, "test loss", loss_clauses, 2 },
                              { p.train, "train acc.", accuracy_clauses, 1 }, { p.test, "test acc.", accuracy_clauses, 2 } } do
      local data, label, clauses, dash = series[1], series[2], series[3], series[4]
      if #data > 0 then
        blocks[#blocks + 1] = data
        local range = ranges[clauses]
        for _, point in ipairs(data) do
          range[1] = math.min(range[1] or point[2], point[2])
          range[2] = math.max(range[2] or point[2], point[2])
        end
        local title = gnuplot.quote(name and (name .. " " .. label) or label)
        clauses[#clauses + 1] = string.format("$DATA index %d using 1:2 with %s lc %d dt %d lw 2 title %s",
          #blocks - 1, #data == 1 and "points" or (as_text and "lines" or "linespoints"), k, dash, title)
      end
    end
  end
  local commands = { "set multiplot layout 1,2", "set key below", "set grid" }
  for _, line in ipairs(epoch_axis(epochs)) do commands[#commands + 1] = line end
  for _, panel in ipairs { { "loss", loss_clauses }, { "accuracy (%)", accuracy_clauses } } do
    local title, clauses = panel[1], panel[2]
    local range = ranges[clauses]
    commands[#commands + 1] = "set title " .. gnuplot.quote(title)
    -- the first points may all have one value: gnuplot would warn of an empty range
    if range[1] and range[2] - range[1] < 1e-9 * math.max(1, math.abs(range[1])) then
      local pad = math.max(math.abs(range[1]) * 0.05, 0.01)
      commands[#commands + 1] = string.format("set yrange [%.9g:%.9g]", range[1] - pad, range[2] + pad)
    else
      commands[#commands + 1] = "set autoscale y"
    end
    commands[#commands + 1] = "plot " .. (#clauses > 0 and table.concat(clauses, ", ") or "NaN notitle")
  end
  commands[#commands + 1] = "unset multiplot"
  return { blocks = blocks, commands = commands }
end

-- Draws the board again from the trainers' histories and running epochs.
function Board:update()
  self.count = self.count + 1
  if self.mode == "terminal" then
    local columns = progress.columns()
    local _, rows = core.terminal_size()
    -- width and height size the picture of the script left behind when gnuplot is missing
    local text = gnuplot.render(self:figure(true), { text = true, capture = true, columns = columns - 1,
                                                    rows = math.max(12, math.min(24, (rows or 24) // 2)),
                                                    width = 1000, height = 420 })
    progress.picture(text:gsub("^%s*\n", ""):gsub("%s+$", "") .. "\n")
  elseif self.mode == "file" then
    gnuplot.render(self:figure(false), { out = self.path, width = 1000, height = 420, hooks = false })
  else
    local scratch = os.tmpname()
    local path = scratch .. ".png"
    local ok, err = pcall(gnuplot.render, self:figure(false), { out = path, width = 1000, height = 420, hooks = false })
    if ok then
      local bundle = self.jupyter.picture(path, "png")
      bundle["text/plain"] = string.format("<training curves, update %d>", self.count)
      if self.count == 1 then
        self.jupyter.display(bundle, { display_id = self.display_id })
      else
        self.jupyter.update_display(self.display_id, bundle)
      end
    end
    os.remove(path)
    os.remove(scratch)
    if not ok then error(err, 0) end
  end
end

return live
