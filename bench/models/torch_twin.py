"""What the PyTorch twins of the built-in networks share: the layers that
mirror models/builtin/standardized-conv.ts, the data the TypeScript side
wrote, and the timing (wall clock and this process's CPU time).

A twin script is run as: SCRIPT DATA_DIR INPUT_SIZE WIDTH DEPTH CLASSES BATCH STEPS THREADS
and prints one JSON line: {"train_img_s", "infer_img_s", "train_img_cpu_s", "infer_img_cpu_s", "threads"}
"""
import json
import math
import sys
import time

import numpy as np
import torch
from torch import nn


def arguments():
    """(data_dir, size, width, depth, classes, batch, steps), with torch's thread count set."""
    data_dir, size, width, depth, classes, batch, steps, threads = sys.argv[1], *map(int, sys.argv[2:])
    torch.set_num_threads(threads)
    return data_dir, size, width, depth, classes, batch, steps


class Standardize(nn.Module):
    """Per-image standardization, as the TypeScript networks' first step."""

    def forward(self, x):
        mean = x.mean(dim=(1, 2, 3), keepdim=True)
        var = x.var(dim=(1, 2, 3), keepdim=True, unbiased=False)
        return (x - mean) / torch.sqrt(var + 1e-3)


class StandardizedConv2d(nn.Conv2d):
    """3×3 convolution with scaled weight standardization and a learned gain per filter."""

    def __init__(self, cin, cout):
        super().__init__(cin, cout, 3, padding=1)
        self.gain = nn.Parameter(torch.ones(cout, 1, 1, 1))

    def forward(self, x):
        w = self.weight
        mean = w.mean(dim=(1, 2, 3), keepdim=True)
        var = w.var(dim=(1, 2, 3), keepdim=True, unbiased=False)
        w = self.gain * math.sqrt(2) * (w - mean) / torch.sqrt((var + 1e-6) * w[0].numel())
        return nn.functional.conv2d(x, w, self.bias, padding=1)


def batches(data_dir, size, batch, targets_file, targets_dtype, target_shape):
    """(images NCHW, targets) per batch; converted once, outside the timing."""
    images = np.fromfile(f"{data_dir}/images.f32", dtype="<f4").reshape(-1, size, size, 3)
    targets = np.fromfile(f"{data_dir}/{targets_file}", dtype=targets_dtype).reshape(-1, *target_shape)
    return [
        (torch.from_numpy(images[i:i + batch]).permute(0, 3, 1, 2).contiguous(), torch.from_numpy(targets[i:i + batch]).long())
        for i in range(0, len(images) - batch + 1, batch)
    ]


def images_per_second(step, data, steps, batch):
    """(images per wall-clock second, images per CPU second of this process) over `steps` steps after 3 warm-up steps."""
    for x, y in data[:3]:
        step(x, y)
    wall, cpu = time.perf_counter(), time.process_time()
    for k in range(steps):
        step(*data[k % len(data)])
    return steps * batch / (time.perf_counter() - wall), steps * batch / (time.process_time() - cpu)


def report(net, loss, data, steps, batch):
    """Times AdamW training steps with `loss(net(x), y)` and no-grad inference with a softmax over classes; prints the JSON line."""
    optimizer = torch.optim.AdamW(net.parameters(), lr=1e-3, weight_decay=0)

    def train_step(x, y):
        optimizer.zero_grad()
        loss(net(x), y).backward()
        optimizer.step()

    def infer_step(x, _y):
        with torch.no_grad():
            net(x).softmax(dim=1)

    train, train_cpu = images_per_second(train_step, data, steps, batch)
    infer, infer_cpu = images_per_second(infer_step, data, steps, batch)
    print(json.dumps({"train_img_s": train, "infer_img_s": infer, "train_img_cpu_s": train_cpu, "infer_img_cpu_s": infer_cpu, "threads": torch.get_num_threads()}))
