"""The PyTorch reference for sparsenet's training runs: the same architectures (zoo.py), the same recipe and
the same split, so that accuracies compare. Recipe as `npm run train` (packages/sparsenet/src/train/config.ts):
Adam (lr 1e-3, betas 0.9/0.999, eps 1e-8, weight decay 0) with the learning rate annealed per step by
CosineAnnealingLR to 0 over the run, batch 64 with the last smaller batch kept, random horizontal and vertical
flips (each p = 0.5), inputs (x / 255 - 0.5) / 0.5, cross-entropy; --balanced draws each training image by
picking a class uniformly, then an image of it. Each epoch evaluates val and test; best.pt is chosen on val
accuracy, the final model is what the comparison uses (as sparsenet's README does).

The data: the embedded set (data/ham10000-64: images/<image_id>.jpg, HAM10000_metadata.csv) split by a
split.csv (image_id,split), by default data/ham10000-64/split.csv, which is seed 0's split; pass a run
folder's split.csv to train on that run's split. Images are decoded by Pillow (sparsenet decodes with jpeg-js;
the two IDCTs differ by at most a unit in a few pixels).

Resumable: <out>/last.pt after every epoch holds model, optimizer, loop and generator state; a rerun with the
same --out continues it (its config.json rules). <out>/metrics.json holds each epoch's numbers, final.json the
final model's. Run with Debian's python3-torch:

  /usr/bin/python3 pytorch/train_reference.py --arch resnet --seed 0 --out runs/torch-resnet-0
"""
import argparse
import csv
import json
import os
import sys
import time

import numpy as np
import torch
import torch.nn.functional as F
from PIL import Image

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from zoo import build  # noqa: E402

ROOT = os.path.join(os.path.dirname(os.path.abspath(__file__)), "..")
DATA = os.path.join(ROOT, "data", "ham10000-64")
CLASSES = ["akiec", "bcc", "bkl", "df", "mel", "nv", "vasc"]


def parse_args(argv):
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument("--arch", default="lenet")
    p.add_argument("--arch-options", default="{}", help="JSON over the architecture's defaults")
    p.add_argument("--epochs", type=int, default=30)
    p.add_argument("--batch-size", type=int, default=64)
    p.add_argument("--lr", type=float, default=1e-3)
    p.add_argument("--lr-schedule", choices=["cosine", "constant"], default="cosine")
    p.add_argument("--weight-decay", type=float, default=0.0)
    p.add_argument("--seed", type=int, default=0)
    p.add_argument("--balanced", action="store_true")
    p.add_argument("--no-flips", action="store_true")
    p.add_argument("--data", default=DATA)
    p.add_argument("--split", default=None, help="a split.csv (default: DATA/split.csv)")
    p.add_argument("--threads", type=int, default=os.cpu_count() or 1)
    p.add_argument("--eval-batch-size", type=int, default=256)
    p.add_argument("--out", required=True)
    return p.parse_args(argv)


def load_data(data_dir, split_file):
    """uint8 images [N, 64, 64, 3] and int64 labels per split, in split.csv order."""
    with open(os.path.join(data_dir, "HAM10000_metadata.csv"), newline="") as f:
        dx = {row["image_id"]: CLASSES.index(row["dx"]) for row in csv.DictReader(f)}
    parts = {"train": [], "val": [], "test": []}
    with open(split_file, newline="") as f:
        for row in csv.DictReader(f):
            if row["split"] not in parts:
                raise ValueError(f"{split_file}: image {row['image_id']} has split '{row['split']}' (train, val or test)")
            parts[row["split"]].append(row["image_id"])
    out = {}
    for name, ids in parts.items():
        images = np.stack([np.asarray(Image.open(os.path.join(data_dir, "images", f"{i}.jpg")).convert("RGB")) for i in ids])
        out[name] = (images, np.array([dx[i] for i in ids], dtype=np.int64))
    return out


def to_input(images):
    """uint8 NHWC -> float NCHW, (x / 255 - 0.5) / 0.5."""
    x = torch.from_numpy(images).permute(0, 3, 1, 2).float() / 255
    return (x - 0.5) / 0.5


def evaluate(model, images, labels, batch_size):
    model.eval()
    logits = []
    with torch.no_grad():
        for start in range(0, len(images), batch_size):
            logits.append(model(to_input(images[start:start + batch_size])))
    model.train()
    logits = torch.cat(logits)
    y = torch.from_numpy(labels)
    predicted = logits.argmax(1)
    recall = [float((predicted[y == c] == c).float().mean()) if (y == c).any() else float("nan") for c in range(len(CLASSES))]
    present = [r for r in recall if r == r]
    return {
        "loss": float(F.cross_entropy(logits, y)),
        "accuracy": float((predicted == y).float().mean()),
        "balancedAccuracy": sum(present) / len(present),
        "recall": dict(zip(CLASSES, recall)),
    }


def epoch_order(generator, labels, balanced):
    n = len(labels)
    if not balanced:
        return torch.randperm(n, generator=generator).numpy()
    by_class = [np.flatnonzero(labels == c) for c in range(len(CLASSES)) if (labels == c).any()]
    classes = torch.randint(0, len(by_class), (n,), generator=generator).numpy()
    picks = torch.rand(n, generator=generator).numpy()
    return np.array([by_class[c][int(p * len(by_class[c]))] for c, p in zip(classes, picks)])


def main(argv):
    args = parse_args(argv)
    os.makedirs(args.out, exist_ok=True)
    config_path = os.path.join(args.out, "config.json")
    last_path = os.path.join(args.out, "last.pt")
    if os.path.exists(last_path):
        with open(config_path) as f:
            saved = json.load(f)
        args = argparse.Namespace(**{**vars(args), **{k: v for k, v in saved.items() if k != "out"}})
    else:
        with open(config_path, "w") as f:
            json.dump(vars(args), f, indent=2)
    torch.set_num_threads(args.threads)
    torch.manual_seed(args.seed)
    data = load_data(args.data, args.split or os.path.join(args.data, "split.csv"))
    train_images, train_labels = data["train"]
    model = build(args.arch, json.loads(args.arch_options), num_classes=len(CLASSES))
    optimizer = torch.optim.Adam(model.parameters(), lr=args.lr, weight_decay=args.weight_decay)
    steps_per_epoch = -(-len(train_labels) // args.batch_size)
    total_steps = args.epochs * steps_per_epoch
    generator = torch.Generator().manual_seed(args.seed)
    history, best, epoch, step = [], None, 0, 0
    if os.path.exists(last_path):
        saved = torch.load(last_path)
        model.load_state_dict(saved["model"])
        optimizer.load_state_dict(saved["optimizer"])
        generator.set_state(saved["generator"])
        history, best, epoch, step = saved["history"], saved["best"], saved["epoch"], saved["step"]
        print(f"resumed {args.out} after epoch {epoch}", file=sys.stderr)
    print(f"{args.arch}: {sum(p.numel() for p in model.parameters())} parameters; train {len(train_labels)}, val {len(data['val'][1])}, test {len(data['test'][1])} images", file=sys.stderr)

    model.train()
    while epoch < args.epochs:
        started = time.perf_counter()
        order = epoch_order(generator, train_labels, args.balanced)
        flips = torch.rand(len(order), 2, generator=generator).numpy() < 0.5
        loss_sum, correct = 0.0, 0
        for start in range(0, len(order), args.batch_size):
            index = order[start:start + args.batch_size]
            images = train_images[index].copy()
            if not args.no_flips:
                f = flips[start:start + len(index)]
                images[f[:, 0]] = images[f[:, 0], :, ::-1]
                images[f[:, 1]] = images[f[:, 1], ::-1]
            x, y = to_input(images), torch.from_numpy(train_labels[index])
            lr = args.lr * (1 + np.cos(np.pi * min(step, total_steps) / total_steps)) / 2 if args.lr_schedule == "cosine" else args.lr
            for group in optimizer.param_groups:
                group["lr"] = lr
            optimizer.zero_grad()
            logits = model(x)
            loss = F.cross_entropy(logits, y)
            loss.backward()
            optimizer.step()
            step += 1
            loss_sum += float(loss) * len(index)
            correct += int((logits.argmax(1) == y).sum())
        seconds = time.perf_counter() - started
        val = evaluate(model, *data["val"], args.eval_batch_size)
        test = evaluate(model, *data["test"], args.eval_batch_size)
        epoch += 1
        record = {
            "epoch": epoch, "step": step, "lr": lr, "trainLoss": loss_sum / len(order), "trainAccuracy": correct / len(order),
            "valLoss": val["loss"], "valAccuracy": val["accuracy"], "valBalancedAccuracy": val["balancedAccuracy"],
            "testLoss": test["loss"], "testAccuracy": test["accuracy"], "testBalancedAccuracy": test["balancedAccuracy"],
            "testRecall": test["recall"], "seconds": seconds, "imagesPerSecond": len(order) / seconds,
        }
        history.append(record)
        print(f"epoch {epoch}: train loss {record['trainLoss']:.4f} acc {record['trainAccuracy']:.4f} | val acc {val['accuracy']:.4f} "
              f"| test loss {test['loss']:.4f} acc {test['accuracy']:.4f} bal {test['balancedAccuracy']:.4f} | {record['imagesPerSecond']:.0f} img/s", file=sys.stderr)
        if best is None or val["accuracy"] > best:
            best = val["accuracy"]
            torch.save(model.state_dict(), os.path.join(args.out, "best.pt"))
        torch.save({"model": model.state_dict(), "optimizer": optimizer.state_dict(), "generator": generator.get_state(),
                    "history": history, "best": best, "epoch": epoch, "step": step}, last_path + ".tmp")
        os.replace(last_path + ".tmp", last_path)
        write_json(os.path.join(args.out, "metrics.json"), {"epochs": history})

    final = evaluate(model, *data["test"], args.eval_batch_size)
    torch.save(model.state_dict(), os.path.join(args.out, "final.pt"))
    write_json(os.path.join(args.out, "final.json"), {
        "testAccuracy": final["accuracy"], "testBalancedAccuracy": final["balancedAccuracy"], "testLoss": final["loss"],
        "testRecall": final["recall"], "trainSeconds": sum(r["seconds"] for r in history), "torch": torch.__version__,
        "threads": torch.get_num_threads(), "arch": args.arch, "archOptions": json.loads(args.arch_options), "seed": args.seed,
    })
    print(f"final: test accuracy {final['accuracy']:.4f}, balanced {final['balancedAccuracy']:.4f}", file=sys.stderr)


def write_json(path, value):
    with open(path + ".tmp", "w") as f:
        json.dump(value, f, indent=2)
    os.replace(path + ".tmp", path)


if __name__ == "__main__":
    main(sys.argv[1:])
