"""Reading a model's weights from a safetensors file, with numpy alone.

Owns the file layout (header length, JSON header, raw data), the float dtypes it holds,
converted to float32, and :class:`ModelFormatError`, which every check of a model's
files raises (here, in ``bert`` and in ``encoder``).
"""

from __future__ import annotations

import json
import math
from pathlib import Path

import numpy as np
import numpy.typing as npt

Vectors = npt.NDArray[np.float32]


class ModelFormatError(ValueError):
    """A model file that is malformed, or asks for something this encoder does not do."""


# safetensors dtypes we read, as stored (little-endian); bfloat16 is the top half of a
# float32, so it is read as uint16 and shifted.
_FLOAT_DTYPES = {"F64": "<f8", "F32": "<f4", "F16": "<f2", "BF16": "<u2"}
_MAX_HEADER_BYTES = 100 << 20


def read_tensors(path: Path) -> dict[str, Vectors]:
    """Every floating-point tensor of a safetensors file, as float32 arrays.

    The format: an 8-byte little-endian header length, a JSON header mapping each name to
    its dtype, shape and [begin, end) byte offsets into the data that follows, then the
    data. Integer and boolean buffers (BERT's position_ids) are skipped.
    """
    data = np.memmap(path, dtype=np.uint8, mode="r")
    if data.size < 8:
        raise ModelFormatError(f"{path} is too short to be a safetensors file")
    length = int(data[:8].view("<u8")[0])
    if not 2 <= length <= min(_MAX_HEADER_BYTES, data.size - 8):
        raise ModelFormatError(f"{path}: header length {length} does not fit the file")
    body = data[8 + length :]
    tensors: dict[str, Vectors] = {}
    try:
        header = json.loads(bytes(data[8 : 8 + length]))
        for name, entry in header.items():
            if name == "__metadata__" or entry["dtype"] not in _FLOAT_DTYPES:
                continue
            stored = np.dtype(_FLOAT_DTYPES[entry["dtype"]])
            shape = tuple(int(size) for size in entry["shape"])
            begin, end = (int(offset) for offset in entry["data_offsets"])
            if (
                not 0 <= begin <= end <= body.size
                or end - begin != math.prod(shape) * stored.itemsize
            ):
                raise ModelFormatError(f"{path}: tensor {name} has bad offsets {begin}..{end}")
            raw = body[begin:end].view(stored)
            if entry["dtype"] == "BF16":
                values = (raw.astype(np.uint32) << 16).view(np.float32)
            else:
                values = raw.astype(np.float32)
            tensors[name.removeprefix("bert.")] = values.reshape(shape)
    except (ValueError, KeyError, TypeError, AttributeError) as exc:
        if isinstance(exc, ModelFormatError):
            raise
        raise ModelFormatError(f"{path}: malformed safetensors header: {exc!r}") from exc
    return tensors
