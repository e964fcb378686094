"""safetensors written and read by hand: Debian's torch 1.13 has no safetensors package. The format: an 8-byte
little-endian header length, a JSON header (padded with spaces to 8 bytes) naming each tensor's dtype, shape
and byte range, then the raw little-endian data."""
import json
import struct

import numpy as np

DTYPES = {np.dtype("float32"): "F32", np.dtype("int32"): "I32", np.dtype("int64"): "I64", np.dtype("uint8"): "U8"}
NUMPY = {name: dtype for dtype, name in DTYPES.items()}


def write_safetensors(path, tensors, metadata):
    """tensors: name -> numpy array (F32, I32, I64 or U8); metadata: str -> str."""
    header = {"__metadata__": metadata}
    blobs = []
    offset = 0
    for name, array in tensors.items():
        data = array.astype(array.dtype.newbyteorder("<")).tobytes(order="C")
        header[name] = {"dtype": DTYPES[array.dtype], "shape": list(array.shape), "data_offsets": [offset, offset + len(data)]}
        blobs.append(data)
        offset += len(data)
    text = json.dumps(header, separators=(",", ":")).encode()
    text += b" " * (-len(text) % 8)
    with open(path, "wb") as f:
        f.write(struct.pack("<Q", len(text)))
        f.write(text)
        for data in blobs:
            f.write(data)


def read_safetensors(path):
    """(name -> numpy array, metadata) of a safetensors file."""
    with open(path, "rb") as f:
        raw = f.read()
    (length,) = struct.unpack("<Q", raw[:8])
    header = json.loads(raw[8:8 + length])
    metadata = header.pop("__metadata__", {})
    base = 8 + length
    tensors = {}
    for name, entry in header.items():
        if entry["dtype"] not in NUMPY:
            raise ValueError(f"{path}: tensor '{name}' has dtype {entry['dtype']}; this reader takes {', '.join(NUMPY)}")
        start, end = entry["data_offsets"]
        dtype = NUMPY[entry["dtype"]].newbyteorder("<")
        tensors[name] = np.frombuffer(raw[base + start:base + end], dtype=dtype).reshape(entry["shape"]).astype(NUMPY[entry["dtype"]])
    return tensors, metadata
