-- The help text of graft.run (?graft.run at the prompt).
return [==[
graft.run{model='resnet20', data='fashion-mnist', nets=2, epochs=10, scion='external', ...} -> result
One grafting experiment: `nets` networks (K) train in lock-step, and after every epoch
one grafting round runs (grafting happens after the last epoch too, as in Algorithm 1);
with every=N, a round runs after every N iterations instead (the K networks then
train batch by batch in turn; no test before the rounds).
Network k (1-based) is initialised with seed*100 + k, reads the data in its own order
(stream k; same_order=true: one order for all), crops and flips it with its own
generator (always) and, with diff_lr=true, starts at the
reference's different learning rate lr*(1+cos(pi*(K-k)/K))/2.
With resume, the options must be those of the run being continued (quiet, ensemble,
data_dir, dataset and on_epoch may differ); the result is bit-identical to an
uninterrupted run.
result: histories[k] (per epoch: loss, train_top1, test_top1_before, test_top1, lr,
information, invalid, invalid_ratio, distance (to network k - 1, see graft.distance;
K > 1), seconds...), history (all records), log (the
grafting log: one entry per round, network and layer), final[k] = {test_top1,
invalid, filters, invalid_ratio, information, lr}, ensemble (test accuracy of the
mean softmax of the K networks), nets, seconds.
Started by mpirun as R processes (K a multiple of R), each trains a block of K/R
networks and the results are those of one process (docs/mpi.md); every process
returns the whole run's records, nets only its own (at their numbers in the ring).
Files in out: history.csv, history.jsonl, grafting.csv, grafting.jsonl (rewritten
after every epoch), checkpoints/epoch-NNNN (every network and the run's state after
every epoch; removed when the run is complete), net<k>.safetensors and summary.json
at the end. Without resume, an out that holds checkpoints or a finished run is
refused; with resume, a finished run is read back (every network), not trained again.]==]
