"""The walk-forward job of issue 13 in numpy/scipy: the script a quant would write instead of running
pipelines/bench/walk_forward.yaml. `npm run bench` times both as whole processes and checks that their daily
returns agree to 1e-9.

Usage: python3 bench/walk_forward.py closes.npy returns.f64
  closes.npy: float64 (days, symbols), no gaps, columns in symbol order.
  returns.f64: written here, the daily out-of-sample returns (float64, native byte order).

The job: simple daily returns; train 252 returns, test 21, step 21, the first decision after 252 returns. Per
window: momentum = prod(1 + r) - 1; Ward linkage on d = sqrt((1 - rho) / 2) of the train window, cut by maxclust 25;
the top 2 of each cluster by momentum (ties: the first column); HRP on the winners, ordered by momentum descending
(single linkage on their correlation, quasi-diagonal order = leaves_list, bisection at len // 2, inverse-variance
cluster variance); hold with drift; at each rebalance 6 bps of the traded notional out of equity.
"""
import sys

import numpy as np
from scipy.cluster.hierarchy import fcluster, leaves_list, linkage
from scipy.spatial.distance import squareform

TRAIN, STEP, MAX_CLUSTERS, PER_CLUSTER, COST = 252, 21, 25, 2, 6e-4


def distance(x):
    d = np.sqrt(np.clip((1 - np.corrcoef(x, rowvar=False)) / 2, 0, 1))
    np.fill_diagonal(d, 0)
    return squareform(d, checks=False)


def cluster_variance(cov, items):
    w = 1 / np.diag(cov)[items]
    w /= w.sum()
    return w @ cov[np.ix_(items, items)] @ w


def hrp(x):
    if x.shape[1] == 1:
        return np.ones(1)
    cov = np.cov(x, rowvar=False)
    w = np.ones(x.shape[1])
    todo = [leaves_list(linkage(distance(x), "single"))]
    while todo:
        items = todo.pop()
        if len(items) < 2:
            continue
        left, right = items[: len(items) // 2], items[len(items) // 2 :]
        vl, vr = cluster_variance(cov, left), cluster_variance(cov, right)
        w[left] *= 1 - vl / (vl + vr)
        w[right] *= vl / (vl + vr)
        todo += [left, right]
    return w


def decide(x):
    momentum = np.prod(1 + x, axis=0) - 1
    labels = fcluster(linkage(distance(x), "ward"), MAX_CLUSTERS, "maxclust")
    winners = []
    for label in np.unique(labels):
        members = np.flatnonzero(labels == label)
        winners += list(members[np.lexsort((members, -momentum[members]))][:PER_CLUSTER])
    winners = np.array(sorted(winners, key=lambda j: (-momentum[j], j)))
    return winners, hrp(x[:, winners])


def main(closes_path, out_path):
    prices = np.load(closes_path)
    r = prices[1:] / prices[:-1] - 1
    days, n = r.shape
    held = np.zeros(n)
    out = []
    for t in range(TRAIN, days, STEP):
        winners, weights = decide(r[t - TRAIN : t])
        target = np.zeros(n)
        target[winners] = weights
        traded = np.abs(target - held).sum()
        growth = np.cumprod(1 + r[t : t + STEP, winners], axis=0)  # each winner's value since the rebalance
        value = growth @ weights  # the book's value per unit invested: drift, renormalised every day
        daily = value / np.concatenate(([1.0], value[:-1])) - 1
        daily[0] = (1 - COST * traded) * value[0] - 1
        out.append(daily)
        held = np.zeros(n)
        held[winners] = weights * growth[-1] / value[-1]
    np.concatenate(out).tofile(out_path)


if __name__ == "__main__":
    main(sys.argv[1], sys.argv[2])
