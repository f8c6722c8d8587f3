#!/usr/bin/python3
"""Optuna 3.1 (Debian's python3-optuna) on the analytic objectives of bench/search_tpe.c: TPE (defaults) and
random, SEEDS seeds of TRIALS trials. Prints, per objective, how many trials TPE needs to reach random's
best (as a fraction of TRIALS, mean over seeds) and the mean best values: the reference for a2m's sampler.
usage: bench/search_optuna.py [TRIALS] [SEEDS]"""
import math
import sys

import optuna

optuna.logging.set_verbosity(optuna.logging.WARNING)
TRIALS = int(sys.argv[1]) if len(sys.argv) > 1 else 50
SEEDS = int(sys.argv[2]) if len(sys.argv) > 2 else 10


def quad(t):  # the same as bench/search_tpe.c: objective "quad"
    x = t.suggest_float("dropout", 0, 0.9)
    lr = t.suggest_float("lr", 1e-5, 1, log=True)
    b = t.suggest_categorical("batch", [4, 8, 16, 32])
    return (x - 0.3) ** 2 + (math.log10(lr) + 2.5) ** 2 / 4 + (b != 16) * 0.3


def train_like(t):  # objective "train": a validation-loss-shaped surface over the original's space + 4 more
    h = t.suggest_categorical("hidden", [32, 64, 128, 256])
    lr = t.suggest_float("lr", 1e-4, 1e-2, log=True)
    b = t.suggest_categorical("batch", [4, 8, 16, 32])
    d = t.suggest_float("dropout", 0, 0.5)
    cw = t.suggest_float("class-weight-power", 0, 1)
    loss = t.suggest_categorical("loss", ["ce", "focal"])
    ls = t.suggest_float("label-smoothing", 0, 0.2)
    return (0.2 + 0.08 * (math.log10(lr) + 3.03) ** 2 + 0.01 * abs(math.log2(h / 128)) + 0.01 * abs(math.log2(b / 8))
            + 0.02 * d * d + 0.05 * cw + 0.03 * (loss == "focal") + 0.1 * ls)


def curve(obj, sampler):
    st = optuna.create_study(sampler=sampler)
    st.optimize(obj, n_trials=TRIALS)
    best, out = math.inf, []
    for tr in st.trials:
        best = min(best, tr.value)
        out.append(best)
    return out


for name, obj in (("quad", quad), ("train", train_like)):
    frac, bt, br = [], [], []
    for seed in range(1, SEEDS + 1):
        t = curve(obj, optuna.samplers.TPESampler(seed=seed))
        r = curve(obj, optuna.samplers.RandomSampler(seed=seed))
        k = next((i + 1 for i, v in enumerate(t) if v <= r[-1]), TRIALS + 1)
        frac.append(k / TRIALS); bt.append(t[-1]); br.append(r[-1])
    print("optuna %s: %d trials, %d seeds: TPE reaches random's best in %.2f of its trials (mean); "
          "best TPE %.5f random %.5f" % (name, TRIALS, SEEDS, sum(frac) / SEEDS, sum(bt) / SEEDS, sum(br) / SEEDS))

# the median pruner on bench/bench_search.c's learning curves (the same noise hash)
M = (1 << 64) - 1


def curve_at(v, e, trial):
    final = train_like_values(v)
    rate = 0.25 * min(1.0, math.sqrt(v["lr"] / 1e-3))
    h = (((trial + 1) * 0x9E3779B97F4A7C15) & M) ^ ((e * 0xD1B54A32D192ED03) & M)
    h ^= h >> 31
    h = (h * 0xBF58476D1CE4E5B9) & M
    h ^= h >> 29
    noise = 0.01 * ((h >> 11) * 2.0 ** -53 * 2 - 1)
    return final + (1.0 - final) * math.exp(-rate * e) + noise


def train_like_values(v):
    return (0.2 + 0.08 * (math.log10(v["lr"]) + 3.03) ** 2 + 0.01 * abs(math.log2(v["hidden"] / 128))
            + 0.01 * abs(math.log2(v["batch"] / 8)) + 0.02 * v["dropout"] ** 2 + 0.05 * v["class-weight-power"]
            + 0.03 * (v["loss"] == "focal") + 0.1 * v["label-smoothing"])


def pruned_study(seed, n, pruner):
    st = optuna.create_study(sampler=optuna.samplers.TPESampler(seed=seed), pruner=pruner)
    count = {"epochs": 0}

    def obj(t):
        v = {"hidden": t.suggest_categorical("hidden", [32, 64, 128, 256]),
             "lr": t.suggest_float("lr", 1e-4, 1e-2, log=True),
             "batch": t.suggest_categorical("batch", [4, 8, 16, 32]),
             "dropout": t.suggest_float("dropout", 0, 0.5),
             "class-weight-power": t.suggest_float("class-weight-power", 0, 1),
             "loss": t.suggest_categorical("loss", ["ce", "focal"]),
             "label-smoothing": t.suggest_float("label-smoothing", 0, 0.2)}
        b = math.inf
        for e in range(1, 31):
            y = curve_at(v, e, seed * 1000 + t.number)
            b = min(b, y)
            count["epochs"] += 1
            t.report(y, e)
            if t.should_prune():
                raise optuna.TrialPruned()
        return b

    st.optimize(obj, n_trials=n)
    done = [x.value for x in st.trials if x.state == optuna.trial.TrialState.COMPLETE]
    return min(done), count["epochs"]


def mean_sd(x):
    m = sum(x) / len(x)
    return m, (sum((y - m) ** 2 for y in x) / max(1, len(x) - 1)) ** 0.5


# the same trial budget with and without the pruner, per seed (as bench_search.c's compare_pruner)
for warmup in (0, 6):
    saved, b0s, b1s, diffs = [], [], [], []
    for seed in range(1, SEEDS + 1):
        b0, e0 = pruned_study(seed, TRIALS, optuna.pruners.NopPruner())
        b1, e1 = pruned_study(seed, TRIALS, optuna.pruners.MedianPruner(n_startup_trials=5, n_warmup_steps=warmup))
        saved.append(1 - e1 / e0), b0s.append(b0), b1s.append(b1), diffs.append(b1 - b0)
    (s, ssd), (m1, sd1), (m0, sd0), (dm, dsd) = mean_sd(saved), mean_sd(b1s), mean_sd(b0s), mean_sd(diffs)
    print("optuna MedianPruner(n_startup_trials=5, n_warmup_steps=%d): %d trials of 30 epochs, %d seeds: %.0f%% fewer "
          "epochs (sd %.0f%%), mean best %.5f (sd %.5f) vs %.5f (sd %.5f) without; paired difference %+.5f "
          "(standard error %.5f)" % (warmup, TRIALS, SEEDS, 100 * s, 100 * ssd, m1, sd1, m0, sd0, dm,
                                     dsd / SEEDS ** 0.5))
