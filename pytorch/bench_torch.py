"""LeNet in PyTorch on the CPU, timed as bench/src/timing.ts times everything: warm-up runs, then blocks of
runs with one synchronisation (here a readback of the running loss or the last logits) per block; the median
block per run. Run by bench/src/peers.ts; prints one JSON line: {"ms": ..., "threads": ..., "version": ...}."""
import argparse
import json
import os
import time

import torch
from torch import nn


def lenet():
    # The same layers as packages/sparsenet/src/model.ts (3x64x64 -> 7 classes).
    return nn.Sequential(
        nn.Conv2d(3, 6, 5), nn.ReLU(), nn.MaxPool2d(2),
        nn.Conv2d(6, 16, 5), nn.ReLU(), nn.MaxPool2d(2),
        nn.Flatten(),
        nn.Linear(16 * 13 * 13, 120), nn.ReLU(),
        nn.Linear(120, 84), nn.ReLU(),
        nn.Linear(84, 7),
    )


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument('--workload', choices=['train', 'infer'], required=True)
    parser.add_argument('--batch', type=int, required=True)
    parser.add_argument('--warmup', type=int, default=2)
    parser.add_argument('--per-block', type=int, default=5)
    parser.add_argument('--blocks', type=int, default=5)
    parser.add_argument('--budget-ms', type=float, default=20000)
    args = parser.parse_args()

    # All cores, as lavapipe uses them; Debian's build defaults to fewer.
    torch.set_num_threads(os.cpu_count() or 1)
    torch.manual_seed(0)
    model = lenet()
    host_x = torch.rand(args.batch, 3, 64, 64) * 2 - 1
    host_y = torch.randint(0, 7, (args.batch,))
    optimizer = torch.optim.Adam(model.parameters(), lr=1e-3)
    loss_fn = nn.CrossEntropyLoss()
    loss_sum = torch.zeros(())
    correct = torch.zeros(())
    last = {}

    def train_step():
        nonlocal loss_sum, correct
        # The "upload": a copy of the host batch, as the GPU frameworks copy theirs.
        x = host_x.clone()
        y = host_y.clone()
        optimizer.zero_grad(set_to_none=True)
        logits = model(x)
        loss = loss_fn(logits, y)
        loss.backward()
        optimizer.step()
        loss_sum = loss_sum + loss.detach() * args.batch
        correct = correct + (logits.detach().argmax(1) == y).sum()

    def infer_step():
        with torch.no_grad():
            last['logits'] = model(host_x.clone())

    if args.workload == 'train':
        run, sync = train_step, lambda: loss_sum.item()
    else:
        model.eval()
        run, sync = infer_step, lambda: last['logits'][0, 0].item()

    for _ in range(args.warmup):
        run()
    sync()
    samples = []
    started = time.perf_counter()
    for b in range(args.blocks):
        t0 = time.perf_counter()
        for _ in range(args.per_block):
            run()
        sync()
        samples.append((time.perf_counter() - t0) * 1000 / args.per_block)
        if b >= 2 and (time.perf_counter() - started) * 1000 > args.budget_ms:
            break
    samples.sort()
    print(json.dumps({'ms': samples[len(samples) // 2], 'threads': torch.get_num_threads(), 'version': torch.__version__}))


if __name__ == '__main__':
    main()
