"""The BERT encoder's forward pass in float32, with numpy alone.

Owns the parts of a Hugging Face ``config.json`` the pass needs, the layout of the
weights (transposed and fused once, at load), and the pass itself: embeddings,
self-attention, the exact (erf) GELU, layer norm, and mean pooling to unit vectors.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Any

import numpy as np
import numpy.typing as npt

from gatehouse.guard.ml.safetensors import ModelFormatError, Vectors


@dataclass(frozen=True, slots=True)
class BertConfig:
    """The parts of a Hugging Face BERT ``config.json`` the forward pass needs."""

    vocab_size: int
    hidden_size: int
    num_hidden_layers: int
    num_attention_heads: int
    intermediate_size: int
    max_position_embeddings: int
    type_vocab_size: int = 2
    layer_norm_eps: float = 1e-12

    @classmethod
    def from_dict(cls, raw: dict[str, Any]) -> BertConfig:
        if raw.get("hidden_act", "gelu") != "gelu":
            raise ModelFormatError(f"unsupported activation {raw['hidden_act']!r} (only gelu)")
        if raw.get("position_embedding_type", "absolute") != "absolute":
            raise ModelFormatError("only absolute position embeddings are supported")
        try:
            config = cls(
                vocab_size=int(raw["vocab_size"]),
                hidden_size=int(raw["hidden_size"]),
                num_hidden_layers=int(raw["num_hidden_layers"]),
                num_attention_heads=int(raw["num_attention_heads"]),
                intermediate_size=int(raw["intermediate_size"]),
                max_position_embeddings=int(raw["max_position_embeddings"]),
                type_vocab_size=int(raw.get("type_vocab_size", 2)),
                layer_norm_eps=float(raw.get("layer_norm_eps", 1e-12)),
            )
        except (KeyError, TypeError, ValueError) as exc:
            raise ModelFormatError(f"config.json lacks or garbles {exc}") from exc
        if config.hidden_size % config.num_attention_heads:
            raise ModelFormatError("hidden_size is not a multiple of num_attention_heads")
        return config


Dense = tuple[Vectors, Vectors]  # a linear layer: weight laid out (in, out) for x @ w, bias


@dataclass(frozen=True, slots=True)
class _Layer:
    qkv: Dense  # query, key and value side by side; the query pre-scaled by 1/sqrt(width)
    attention_out: Dense
    attention_norm: Dense  # LayerNorm gain and shift
    up: Dense
    down: Dense
    output_norm: Dense


class Bert:
    """The BERT encoder's forward pass in float32, for inference only (no dropout)."""

    def __init__(self, config: BertConfig, tensors: dict[str, Vectors]) -> None:
        self.config = config
        hidden, inner = config.hidden_size, config.intermediate_size

        def take(name: str, *shape: int) -> Vectors:
            if name not in tensors:
                raise ModelFormatError(f"the weights lack {name} (or it is not a float tensor)")
            if tensors[name].shape != shape:
                raise ModelFormatError(f"{name} has shape {tensors[name].shape}, not {shape}")
            return tensors[name]

        def dense(prefix: str, rows: int, cols: int) -> Dense:
            # Stored (out, in) as PyTorch keeps them; transposed once here.
            weight = take(f"{prefix}.weight", rows, cols)
            return np.ascontiguousarray(weight.T), take(f"{prefix}.bias", rows)

        def norm(prefix: str) -> Dense:
            return take(f"{prefix}.weight", hidden), take(f"{prefix}.bias", hidden)

        self.words = take("embeddings.word_embeddings.weight", config.vocab_size, hidden)
        positions = take(
            "embeddings.position_embeddings.weight", config.max_position_embeddings, hidden
        )
        types = take("embeddings.token_type_embeddings.weight", config.type_vocab_size, hidden)
        # Every token is of type 0 (single sentences), so its embedding is folded in here.
        self.positions = positions + types[0]
        self.embedding_norm = norm("embeddings.LayerNorm")
        scale = np.float32(1 / math.sqrt(hidden // config.num_attention_heads))
        self.layers: list[_Layer] = []
        for index in range(config.num_hidden_layers):
            p = f"encoder.layer.{index}"
            q, k, v = (
                dense(f"{p}.attention.self.{n}", hidden, hidden) for n in ("query", "key", "value")
            )
            self.layers.append(
                _Layer(
                    qkv=(
                        np.concatenate([q[0] * scale, k[0], v[0]], axis=1),
                        np.concatenate([q[1] * scale, k[1], v[1]]),
                    ),
                    attention_out=dense(f"{p}.attention.output.dense", hidden, hidden),
                    attention_norm=norm(f"{p}.attention.output.LayerNorm"),
                    up=dense(f"{p}.intermediate.dense", inner, hidden),
                    down=dense(f"{p}.output.dense", hidden, inner),
                    output_norm=norm(f"{p}.output.LayerNorm"),
                )
            )

    def forward(self, ids: npt.NDArray[np.int64], mask: npt.NDArray[np.bool_]) -> Vectors:
        """Last hidden states, (batch, tokens, hidden), for right-padded ``ids``."""
        batch, tokens = ids.shape
        config = self.config
        heads = config.num_attention_heads
        width = config.hidden_size // heads
        eps = config.layer_norm_eps
        x = _layer_norm(self.words[ids] + self.positions[:tokens], *self.embedding_norm, eps)
        x = x.reshape(batch * tokens, config.hidden_size)
        # Padding keys get a large negative score, so softmax gives them no weight.
        padding = None if mask.all() else np.where(mask, 0, -1e9).astype(np.float32)
        for layer in self.layers:
            qkv = x @ layer.qkv[0]
            qkv += layer.qkv[1]
            # One copy to (3, batch, heads, tokens, width) keeps every per-head matrix
            # contiguous, which the batched products below need to run at BLAS speed.
            qkv = qkv.reshape(batch, tokens, 3, heads, width).transpose(2, 0, 3, 1, 4)
            q, k, v = np.ascontiguousarray(qkv)
            scores = q @ k.transpose(0, 1, 3, 2)
            if padding is not None:
                scores += padding[:, None, None, :]
            scores -= scores.max(axis=-1, keepdims=True)
            np.exp(scores, out=scores)
            scores /= scores.sum(axis=-1, keepdims=True)
            context = (scores @ v).transpose(0, 2, 1, 3).reshape(batch * tokens, -1)
            attended = context @ layer.attention_out[0]
            attended += layer.attention_out[1]
            attended += x
            x = _layer_norm(attended, *layer.attention_norm, eps)
            inner = x @ layer.up[0]
            inner += layer.up[1]
            out = _gelu(inner) @ layer.down[0]
            out += layer.down[1]
            out += x
            x = _layer_norm(out, *layer.output_norm, eps)
        return x.reshape(batch, tokens, config.hidden_size)

    def pooled(self, ids: npt.NDArray[np.int64], mask: npt.NDArray[np.bool_]) -> Vectors:
        """Mean of the hidden states over real tokens, scaled to unit length."""
        weights = mask[..., None].astype(np.float32)
        summed = (self.forward(ids, mask) * weights).sum(axis=1)
        mean = summed / np.maximum(weights.sum(axis=1), 1e-9)
        norms = np.linalg.norm(mean, axis=1, keepdims=True)
        return (mean / np.maximum(norms, 1e-12)).astype(np.float32)


def _layer_norm(x: Vectors, gain: Vectors, shift: Vectors, eps: float) -> Vectors:
    x -= x.mean(axis=-1, keepdims=True)
    scale = np.mean(x * x, axis=-1, keepdims=True)
    scale += np.float32(eps)
    x /= np.sqrt(scale, out=scale)
    x *= gain
    x += shift
    return x


# Abramowitz & Stegun 7.1.26: erf to 1.5e-7 absolute, float32's own precision, so this is
# the exact (erf) GELU the model was trained with, not the tanh approximation.
_ERF_P = np.float32(0.3275911)
_ERF_A = tuple(
    np.float32(a) for a in (1.061405429, -1.453152027, 1.421413741, -0.284496736, 0.254829592)
)
_SQRT_HALF = np.float32(1 / math.sqrt(2))


def _gelu(x: Vectors) -> Vectors:
    """x * Phi(x), Phi the standard normal CDF, computed in place over ``x``."""
    z = np.abs(x)
    z *= _SQRT_HALF
    t = z * _ERF_P
    t += 1
    np.reciprocal(t, out=t)
    tail = t * _ERF_A[0]
    for a in _ERF_A[1:]:
        tail += a
        tail *= t
    np.square(z, out=z)
    np.negative(z, out=z)
    tail *= np.exp(z, out=z)
    tail *= 0.5  # now 1 - Phi(|x|): Phi(x) is 1 - tail for x >= 0, tail below
    np.subtract(1, tail, out=tail, where=x >= 0)
    x *= tail
    return x
