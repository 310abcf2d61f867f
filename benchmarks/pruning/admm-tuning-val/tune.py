"""ADMM variants on the validation split, with cached dense models and baselines (issue 3 tuning).

The script behind docs/pruning.md "Tuning ADMM": per seed the dense model and the three
methods at the then-default settings are run once (``--baselines``, cached in a temp dir);
a variant then reruns ADMM only, with ``Settings`` fields (``--set``) or ``FitConfig``
fields (``--fit``) overridden, and appends its per-seed results to ``runs.txt``
(``summarize.py`` prints the table).  "cur" in the records is the ADMM of the cached
baseline run: the settings before the tuning (no distill_admm / joint_connectivity, one
update per epoch).  Example (from the repository root, one thread)::

    python benchmarks/pruning/admm-tuning-val/tune.py --name base --baselines --seeds 0 1 2
    python benchmarks/pruning/admm-tuning-val/tune.py --name combo --seeds 0 1 2 --extra-updates 3 \
        --set distill_admm=True joint_connectivity=True

Variants and "cur" start from the settings before the tuning (``OLD`` below), so
``--set`` names what a variant changes.  evaluate.py itself reproduces
everything per seed: ``evaluate.py --split val --main-only --seeds ...`` (tuned ADMM and the
baselines) and the same with ``--no-distill-admm --no-joint-connectivity --admm-updates 1``.
"""
import argparse, copy, json, sys, tempfile, time
from dataclasses import asdict, replace
from pathlib import Path
import torch, torch.nn as nn
sys.path.insert(0, str(Path(__file__).resolve().parents[1]))
import evaluate as ev, digits
from pconv.prune import ADMMPruner, FitConfig, extract_library, fit, recalibrate_batchnorm

torch.set_num_threads(1)
CACHE = Path(tempfile.gettempdir()) / "pconv-admm-tuning-cache"; CACHE.mkdir(exist_ok=True)
p = argparse.ArgumentParser()
p.add_argument("--name", required=True)
p.add_argument("--seeds", type=int, nargs="+", default=list(range(10)))
p.add_argument("--set", nargs="*", default=[], help="Settings field=value (python literal)")
p.add_argument("--fit", nargs="*", default=[], help="extra FitConfig field=value for ADMM")
p.add_argument("--extra-updates", type=int, default=0, help="extra Z/Y/U/V updates inside each ADMM epoch")
p.add_argument("--baselines", action="store_true", help="(re)compute baselines only")
a = p.parse_args()
def parse(kv):
    out = {}
    for item in kv:
        k, v = item.split("=", 1); out[k] = eval(v)
    return out
OLD = {"distill_admm": False, "joint_connectivity": False, "admm_updates_per_epoch": 1}  # before the tuning
s = ev.Settings(split="val", **{**OLD, **parse(a.set)})
fitx = parse(a.fit)
data = digits.load("val")
res = []
t0 = time.perf_counter()
for seed in a.seeds:
    dp = CACHE / f"dense_{seed}.pt"
    dense = digits.build()
    if dp.exists():
        dense.load_state_dict(torch.load(dp))
    else:
        dense = digits.train_dense(data, seed, s.dense_epochs, s.dense_lr, s.batch_size)
        torch.save(dense.state_dict(), dp)
    bp = CACHE / f"base_{seed}.json"
    if a.baselines or not bp.exists():
        recs = ev.run_methods(data, dense, seed, s.main_patterns, s.main_keep, ev.Settings(split="val", **OLD))
        base = {r["method"]: [r["accuracy"], r["cross_entropy"], r.get("accuracy_before_retraining")] for r in recs}
        base["dense"] = [digits.accuracy(dense, data.evaluation), digits.cross_entropy(dense, data.evaluation), None]
        bp.write_text(json.dumps(base))
    base = json.loads(bp.read_text())
    if a.baselines:
        print(seed, base, flush=True); continue
    library = extract_library(dense, num_patterns=s.main_patterns, taps=s.taps)
    config = ev.prune_config(s, s.main_patterns, s.main_keep)
    teacher = copy.deepcopy(dense) if s.distill_weight else None
    admm = ADMMPruner(copy.deepcopy(dense), library, config)
    pre = {}
    def after(epoch, rec):
        if epoch == s.admm_epochs - 1:
            snap = copy.deepcopy(admm); snap.hard_prune()
            recalibrate_batchnorm(snap.model, data.train, s.batch_size)
            pre["acc"] = digits.accuracy(snap.model, data.evaluation)
    kw = dict(admm_epochs=s.admm_epochs, retrain_epochs=s.retrain_epochs, batch_size=s.batch_size, seed=seed,
              lr=s.admm_lr, retrain_lr=s.retrain_lr, progress=False, distill_weight=s.distill_weight,
              distill_temperature=s.distill_temperature, distill_admm=s.distill_admm and s.distill_weight > 0)
    if a.extra_updates:
        kw["admm_updates_per_epoch"] = a.extra_updates + 1  # (the runs used an equivalent wrapper, same results)
    kw.update(fitx)
    fit(admm, data.train, nn.functional.cross_entropy, FitConfig(**kw), on_epoch_end=after, teacher=teacher)
    acc, ce = digits.accuracy(admm.model, data.evaluation), digits.cross_entropy(admm.model, data.evaluation)
    res.append({**{k: v[0] for k, v in base.items()}, "cur": base["admm"][0], "cur_ce": base["admm"][1],
                "seed": seed, "admm": acc, "ce": ce, "pre": pre.get("acc"),
                "os_ce": base["one-shot"][1], "ir_ce": base["irregular"][1]})
    print(f"[{time.perf_counter()-t0:5.0f}s] seed {seed}: admm {acc:.2f} ({ce:.4f}) pre {pre.get('acc')} | "
          f"one-shot {base['one-shot'][0]:.2f} irregular {base['irregular'][0]:.2f} dense {base['dense'][0]:.2f}", flush=True)
if res:
    import statistics as st
    m = lambda k: st.fmean(r[k] for r in res)
    wtl = lambda k: "%d-%d-%d" % (sum(r["admm"] > r[k] for r in res), sum(r["admm"] == r[k] for r in res), sum(r["admm"] < r[k] for r in res))
    line = (f"{a.name}: n={len(res)} admm {m('admm'):.2f} ({m('ce'):.4f}) pre {m('pre'):.2f} | cur {m('cur'):.2f} ({m('cur_ce'):.4f}) | one-shot {m('one-shot'):.2f} "
            f"({m('os_ce'):.4f}) irregular {m('irregular'):.2f} ({m('ir_ce'):.4f}) dense {m('dense'):.2f} | "
            f"W-T-L cur {wtl('cur')} os {wtl('one-shot')} ir {wtl('irregular')} | {a.set} {a.fit}")
    print(line)
    with open(Path(__file__).with_name("runs.txt"), "a") as f:
        f.write(line + "\n" + json.dumps(res) + "\n")
