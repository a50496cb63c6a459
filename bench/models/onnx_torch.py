"""The PyTorch twin of bench/models/onnx-vs-pytorch.ts: a small image
classifier (strided 3x3 convolutions with batch norm and ReLU, global average
pooling, a linear head; ResNet-stem-like), seeded, in eval mode.

  python3 onnx_torch.py export <dir> <size> <classes>
      writes <dir>/model.onnx (opset 13, dynamic batch) and <dir>/logits.f32:
      the network's outputs for the first batch of <dir>/images.f32
  python3 onnx_torch.py time <dir> <size> <classes> <batch> <steps> <threads>
      prints {"infer_img_s", "infer_img_cpu_s", "threads"} for inference
      (no_grad) on <dir>/images.f32 ([n, 3, size, size], already normalized)
"""
import json
import sys
import time

import numpy as np
import torch
from torch import nn


def network(classes):
    torch.manual_seed(0)
    layers, cin = [], 3
    for cout in (24, 48, 96, 192):
        layers += [nn.Conv2d(cin, cout, 3, stride=2, padding=1, bias=False), nn.BatchNorm2d(cout), nn.ReLU(),
                   nn.Conv2d(cout, cout, 3, padding=1, bias=False), nn.BatchNorm2d(cout), nn.ReLU()]
        cin = cout
    net = nn.Sequential(*layers, nn.AdaptiveAvgPool2d(1), nn.Flatten(), nn.Linear(cin, classes))
    # Non-trivial batch-norm statistics, so the exported graph computes what the twin does.
    for m in net.modules():
        if isinstance(m, nn.BatchNorm2d):
            m.running_mean.uniform_(-0.1, 0.1)
            m.running_var.uniform_(0.5, 1.5)
    return net.eval()


def images(data_dir, size):
    return torch.from_numpy(np.fromfile(f"{data_dir}/images.f32", dtype="<f4").reshape(-1, 3, size, size))


def main():
    mode, data_dir, size, classes = sys.argv[1], sys.argv[2], int(sys.argv[3]), int(sys.argv[4])
    net = network(classes)
    x = images(data_dir, size)
    if mode == "export":
        batch = x[:8]
        torch.onnx.export(net, batch, f"{data_dir}/model.onnx", input_names=["images"], output_names=["logits"],
                          dynamic_axes={"images": {0: "batch"}, "logits": {0: "batch"}}, opset_version=13)
        with torch.no_grad():
            net(batch).numpy().astype("<f4").tofile(f"{data_dir}/logits.f32")
        return
    batch, steps, threads = int(sys.argv[5]), int(sys.argv[6]), int(sys.argv[7])
    torch.set_num_threads(threads)
    batches = [x[i:i + batch] for i in range(0, len(x) - batch + 1, batch)]
    with torch.no_grad():
        for b in batches[:2]:  # warm-up
            net(b)
        wall, cpu = time.perf_counter(), time.process_time()
        for k in range(steps):
            net(batches[k % len(batches)])
        n = steps * batch
        print(json.dumps({"infer_img_s": n / (time.perf_counter() - wall), "infer_img_cpu_s": n / (time.process_time() - cpu), "threads": torch.get_num_threads()}))


if __name__ == "__main__":
    main()
