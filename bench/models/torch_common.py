"""What the PyTorch twins of our built-in networks share: the trunk
(models/builtin/backbone.ts: per-image standardization, scaled
weight-standardized 3x3 convolutions with ReLU and 2x2 max pooling), the
data the TypeScript side wrote, and the timing loop."""
import json
import math
import time

import numpy as np
import torch
from torch import nn


class Standardize(nn.Module):
    """Per-image standardization, as the TypeScript trunk's first step."""

    def forward(self, x):
        mean = x.mean(dim=(1, 2, 3), keepdim=True)
        var = x.var(dim=(1, 2, 3), keepdim=True, unbiased=False)
        return (x - mean) / torch.sqrt(var + 1e-3)


class StandardizedConv2d(nn.Conv2d):
    """3x3 convolution with scaled weight standardization and a learned gain per filter."""

    def __init__(self, cin, cout):
        super().__init__(cin, cout, 3, padding=1)
        self.gain = nn.Parameter(torch.ones(cout, 1, 1, 1))

    def forward(self, x):
        w = self.weight
        mean = w.mean(dim=(1, 2, 3), keepdim=True)
        var = w.var(dim=(1, 2, 3), keepdim=True, unbiased=False)
        w = self.gain * math.sqrt(2) * (w - mean) / torch.sqrt((var + 1e-6) * w[0].numel())
        return nn.functional.conv2d(x, w, self.bias, padding=1)


def backbone(width, depth):
    """The trunk's layers and its output channels."""
    layers, cin = [Standardize()], 3
    for stage in range(depth):
        cout = width * 2 ** stage
        layers += [StandardizedConv2d(cin, cout), nn.ReLU(), nn.MaxPool2d(2)]
        cin = cout
    return layers, cin


def load_batches(data_dir, size, batch, target_shape):
    """(images NCHW, targets) pairs of the TypeScript side's images.f32 / targets.f32, converted outside the timing."""
    images = np.fromfile(f"{data_dir}/images.f32", dtype="<f4").reshape(-1, size, size, 3)
    targets = np.fromfile(f"{data_dir}/targets.f32", dtype="<f4").reshape(len(images), *target_shape)
    return [
        (torch.from_numpy(images[i:i + batch]).permute(0, 3, 1, 2).contiguous(), torch.from_numpy(targets[i:i + batch]))
        for i in range(0, len(images) - batch + 1, batch)
    ]


def report(net, loss_fn, batches, steps, infer):
    """Times AdamW training steps and inference steps; prints the JSON line the harness reads."""
    optimizer = torch.optim.AdamW(net.parameters(), lr=1e-3, weight_decay=0)

    def train_step(x, y):
        optimizer.zero_grad()
        loss_fn(x, y).backward()
        optimizer.step()

    def infer_step(x, _y):
        with torch.no_grad():
            infer(x)

    def images_per_second(step):
        """Per wall-clock second and per CPU-second of this process."""
        for x, y in batches[:3]:  # warm-up
            step(x, y)
        wall, cpu = time.perf_counter(), time.process_time()
        for k in range(steps):
            step(*batches[k % len(batches)])
        images = steps * len(batches[0][0])
        return images / (time.perf_counter() - wall), images / (time.process_time() - cpu)

    train, train_cpu = images_per_second(train_step)
    infer, infer_cpu = images_per_second(infer_step)
    print(json.dumps({"train_img_s": train, "infer_img_s": infer, "train_img_cpu_s": train_cpu, "infer_img_cpu_s": infer_cpu, "threads": torch.get_num_threads()}))
