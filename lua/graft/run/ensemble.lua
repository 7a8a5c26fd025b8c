-- The ensemble of a ring: test accuracy of the mean of its networks' softmax outputs
-- (computed in C: graft.core.ensemble_evaluate; under MPI every process evaluates its
-- networks and rank 0 adds them up in ring order, graft.core.mpi_ensemble_evaluate).
local core = require "graft.core"

-- Test accuracy (%) of the ensemble of the ring on test_set; nets: this process's
-- networks in ring order (place: graft.run.ranks).
return function(nets, test_set, place)
  local loader <close> = core.loader(test_set, { batch = 500 })
  local evaluate = place.size > 1 and core.mpi_ensemble_evaluate or core.ensemble_evaluate
  local hits, total = evaluate(nets, loader)
  return 100 * hits / total
end
