"""Loads a sparsenet checkpoint into its PyTorch model from zoo.py, as a user would:

    /usr/bin/python3 pytorch/load_checkpoint.py runs/latest/final.safetensors

The architecture comes from the checkpoint's `sparsenet.run` metadata (files from before it are LeNet);
load_state_dict(strict=False) must report no missing key (the *_mask buffers are the only unexpected ones).
Prints the keys and the model's logits of the embedded set's first image; exits 1 on a missing key."""
import json
import os
import sys

import numpy as np
import torch
from PIL import Image

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from safetensors_io import read_safetensors  # noqa: E402
from zoo import build  # noqa: E402


def load(path):
    """(model in eval mode, run metadata, the load's missing and unexpected keys)."""
    tensors, metadata = read_safetensors(path)
    run = json.loads(metadata["sparsenet.run"]) if "sparsenet.run" in metadata else {
        "architecture": {"name": "lenet", "options": {}}, "classes": 7, "imageSize": 64, "normalization": {"mean": [0.5] * 3, "std": [0.5] * 3}}
    classes = run["classes"] if isinstance(run["classes"], int) else len(run["classes"])
    model = build(run["architecture"]["name"], run["architecture"]["options"], num_classes=classes)
    state = {name: torch.from_numpy(array.copy()) for name, array in tensors.items() if not name.startswith(("__optimizer__.", "__rewind__."))}
    result = model.load_state_dict(state, strict=False)
    return model.eval(), run, result.missing_keys, result.unexpected_keys


def main(path):
    model, run, missing, unexpected = load(path)
    print(f"{path}: {run['architecture']['name']} {json.dumps(run['architecture']['options'])}")
    print(f"missing keys: {missing or 'none'}")
    print(f"unexpected keys: {len(unexpected)} ({', '.join(sorted({k.rsplit('.', 1)[-1] for k in unexpected})) or 'none'})")
    data = os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "data", "ham10000-64", "images")
    first = sorted(os.listdir(data))[0]
    size = run["imageSize"]
    pixels = np.asarray(Image.open(os.path.join(data, first)).convert("RGB").resize((size, size)), dtype=np.float32) / 255
    norm = run["normalization"]
    x = (torch.from_numpy(pixels).permute(2, 0, 1) - torch.tensor(norm["mean"])[:, None, None]) / torch.tensor(norm["std"])[:, None, None]
    with torch.no_grad():
        print(f"logits of {first}: {model(x[None]).numpy().round(4).tolist()[0]}")
    return 1 if missing else 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1]))
