-- The ensemble of a ring: test accuracy of the mean of its networks' softmax outputs.
local core = require "graft.core"

-- Test accuracy (%) of the ensemble of nets on test_set.
return function(nets, test_set)
  local loader = core.loader(test_set, { batch = 500 })
  local modes = {}
  for k, net in ipairs(nets) do
    modes[k] = net:is_training()
    net:eval()
  end
  local hits, total = 0, 0
  for images, labels, n in loader:epoch() do
    local sums = {}
    for _, net in ipairs(nets) do
      local logits = net:forward(images):totable()
      for i = 1, n do
        local row, top = logits[i], -math.huge
        for _, v in ipairs(row) do top = math.max(top, v) end
        local z = 0
        for _, v in ipairs(row) do z = z + math.exp(v - top) end
        local s = sums[i] or {}
        for j, v in ipairs(row) do s[j] = (s[j] or 0) + math.exp(v - top) / z end
        sums[i] = s
      end
    end
    for i = 1, n do
      local best, best_j = -1, 0
      for j, v in ipairs(sums[i]) do
        if v > best then best, best_j = v, j end
      end
      if best_j - 1 == labels[i] then hits = hits + 1 end
    end
    total = total + n
  end
  loader:close()
  for k, net in ipairs(nets) do
    if modes[k] then net:train() end
  end
  return 100 * hits / total
end
