"""The PyTorch twin of bench/active-learning/protocol.ts: the same pool-based
protocol on the same data, with the issue's reference CNN (conv 32 -> pool ->
conv 64 -> pool -> FC 128 -> 10, Adam 1e-3, batch 32), retrained from scratch
every round.

usage: protocol_torch.py DATA_DIR SEED STRATEGY[,STRATEGY...] EPOCHS THREADS
DATA_DIR holds what the TypeScript side wrote: pool.u8 / test.u8 (28x28 grey
images), pool_labels.u8 / test_labels.u8, order.i32 (the seeded order random
selection and the initial labels follow) and budgets.json. Prints one JSON
line per strategy and budget: {"strategy", "seed", "labels", "accuracy"}.
"""
import json
import sys

import numpy as np
import torch
from torch import nn

data_dir, seed, strategies, epochs, threads = sys.argv[1], int(sys.argv[2]), sys.argv[3].split(","), int(sys.argv[4]), int(sys.argv[5])
torch.set_num_threads(threads)


def images(name):
    return torch.from_numpy(np.fromfile(f"{data_dir}/{name}.u8", dtype=np.uint8).reshape(-1, 1, 28, 28).astype(np.float32) / 255)


def labels(name):
    return torch.from_numpy(np.fromfile(f"{data_dir}/{name}_labels.u8", dtype=np.uint8).astype(np.int64))


pool_x, pool_y, test_x, test_y = images("pool"), labels("pool"), images("test"), labels("test")
order = np.fromfile(f"{data_dir}/order.i32", dtype="<i4")
budgets = json.load(open(f"{data_dir}/budgets.json"))


def network():
    features = nn.Sequential(
        nn.Conv2d(1, 32, 3, padding=1), nn.ReLU(), nn.MaxPool2d(2),
        nn.Conv2d(32, 64, 3, padding=1), nn.ReLU(), nn.MaxPool2d(2),
        nn.Flatten(), nn.Linear(64 * 7 * 7, 128), nn.ReLU())
    return features, nn.Linear(128, 10)


def train(indices, round_seed):
    torch.manual_seed(round_seed)
    features, head = network()
    net = nn.Sequential(features, head)
    optimizer = torch.optim.Adam(net.parameters(), lr=1e-3)
    x, y = pool_x[indices], pool_y[indices]
    for _ in range(epochs):
        for batch in torch.randperm(len(indices)).split(32):
            optimizer.zero_grad()
            nn.functional.cross_entropy(net(x[batch]), y[batch]).backward()
            optimizer.step()
    return features, head


@torch.no_grad()
def outputs(features, head, x):
    """Class probabilities and penultimate features, 1,000 images at a time."""
    probs, embeddings = [], []
    for chunk in x.split(1000):
        f = features(chunk)
        embeddings.append(f)
        probs.append(head(f).softmax(dim=1))
    return torch.cat(probs), torch.cat(embeddings)


def k_center_greedy(embeddings, labelled, candidates, k):
    """Core-set: repeatedly the candidate farthest from every labelled image and pick so far."""
    distance = torch.cdist(embeddings[candidates], embeddings[labelled]).min(dim=1).values
    picks = []
    for _ in range(k):
        best = int(distance.argmax())
        picks.append(candidates[best])
        distance = torch.minimum(distance, (embeddings[candidates] - embeddings[candidates[best]]).norm(dim=1))
    return picks


def select(strategy, labelled, k, probs, embeddings):
    chosen = set(labelled)
    candidates = [i for i in range(len(pool_x)) if i not in chosen]
    if strategy == "random":
        return [int(i) for i in order if int(i) not in chosen][:k]
    if strategy == "coreset":
        return k_center_greedy(embeddings, labelled, candidates, k)
    p = probs[candidates]
    if strategy == "breaking_ties":
        top = p.topk(2, dim=1).values
        score = 1 - (top[:, 0] - top[:, 1])
    elif strategy == "entropy":
        score = -(p * p.clamp_min(1e-12).log()).sum(dim=1)
    else:
        raise SystemExit(f"unknown strategy {strategy}")
    return [candidates[i] for i in score.argsort(descending=True)[:k].tolist()]


for strategy in strategies:
    labelled = [int(i) for i in order[:budgets[0]]]
    for r, budget in enumerate(budgets):
        if budget > len(labelled):
            probs, embeddings = outputs(features, head, pool_x)
            labelled += select(strategy, labelled, budget - len(labelled), probs, embeddings)
        features, head = train(labelled, seed * 1000 + r)
        test_probs, _ = outputs(features, head, test_x)
        accuracy = float((test_probs.argmax(dim=1) == test_y).float().mean())
        print(json.dumps({"strategy": strategy, "seed": seed, "labels": budget, "accuracy": accuracy}), flush=True)
