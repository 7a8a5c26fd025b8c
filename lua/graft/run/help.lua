-- The help text of graft.run (?graft.run at the prompt).
return [==[
graft.run{model='resnet20', data='fashion-mnist', nets=2, epochs=10, scion='external', ...} -> result
One grafting experiment: `nets` networks (K) train in lock-step, and after every epoch
one grafting round runs (grafting happens after the last epoch too, as in Algorithm 1);
with every=N, a round runs after every N iterations instead (the K networks then
train batch by batch in turn; no test before the rounds).
Network k (1-based) is initialised with seed*100 + k, reads the data in its own order
(stream k; same_order=true: one order for all) and, with diff_lr=true, starts at the
reference's different learning rate lr*(1+cos(pi*(K-k)/K))/2.
Options (defaults): scion='external' | 'noise' | 'internal' | 'none'; criterion='entropy'
(eq. 6) | 'entropy_sum' (eq. 5) | 'l1'; A=0.4, c=500, round=true (alpha to 2 decimals);
alpha=nil (a number: fixed alpha); every=nil (graft every N iterations);
filter_level=false; bins=10; gamma=1e-2 and a=0.9 (noise and internal scions:
threshold, sigma_t = a^t); diff_lr=true; same_order=false;
schedule='cosine' | 'step' (x0.1 every 60 epochs) | ...; seed=1; subset, test_subset
(first n images); batch=128; lr=0.1; wd=5e-4; momentum=0.9; pad (crop padding, the data
set's); threshold=1e-2 (invalid filters: l1 under it); test_before=true (also test
each network before each grafting round, as the authors' script reports);
ensemble=true; out='runs/x'; quiet=false; dataset (an already loaded graft.data set);
on_epoch=function(k, epoch, record); resume=true (or the run's directory): continue
the run in out from its last complete epoch, bit-identical to an uninterrupted run
(the options must be the same; quiet, ensemble, data_dir, dataset, on_epoch may differ).
result: histories[k] (per epoch: loss, train_top1, test_top1_before, test_top1, lr,
information, invalid, invalid_ratio, distance (to network k - 1, see graft.distance;
K > 1), seconds...), history (all records), log (the
grafting log: one entry per round, network and layer), final[k] = {test_top1,
invalid, filters, invalid_ratio, information, lr}, ensemble (test accuracy of the
mean softmax of the K networks), nets, seconds.
Files in out: history.csv, history.jsonl, grafting.csv, grafting.jsonl (rewritten
after every epoch), checkpoints/epoch-NNNN (every network and the run's state after
every epoch; removed when the run is complete), net<k>.safetensors and summary.json
at the end. Without resume, an out that holds checkpoints is refused.]==]
