-- The ensemble of a ring: test accuracy of the mean of its networks' softmax outputs
-- (computed in C: graft.core.ensemble_evaluate).
local core = require "graft.core"

-- Test accuracy (%) of the ensemble of nets on test_set.
return function(nets, test_set)
  local loader <close> = core.loader(test_set, { batch = 500 })
  local hits, total = core.ensemble_evaluate(nets, loader)
  return 100 * hits / total
end
