"""The semantic layers: sentence embeddings and a trained head, in the scan worker.

``injection_ml`` and ``toxicity_ml`` embed the text with all-MiniLM-L6-v2 (our numpy
encoder; the model's files come with the ``ml`` extra and are read from disk, never
downloaded), score the embedding with a logistic head, and combine that score with
the matching heuristic layer's (``injection``, ``toxicity``) in a second logistic
step. Both steps were fitted on our own corpora (``data/guard/``), the second on
out-of-fold scores, so the result is a calibrated probability: a threshold means the
same here as in the heuristic layer. Where the heuristic layer found something, its
spans are reported; otherwise one finding covers the text.

Both scanners share one encoder per process, and the encoder keeps the last texts'
embeddings, so a text both read is embedded once.
"""

from __future__ import annotations

import functools
import os
from importlib import resources
from pathlib import Path
from typing import TYPE_CHECKING, ClassVar

from gatehouse.guard.scanners.base import DEFAULT_CONTEXT, Finding, ScanContext, Scanner
from gatehouse.guard.scanners.registry import build
from gatehouse.guard.scanworker import MODEL_PATH_ENV

if TYPE_CHECKING:  # numpy is the ml extra's: the gateway reads these classes without it
    from gatehouse.guard.ml.encoder import Encoder
    from gatehouse.guard.ml.head import LogisticHead


@functools.cache
def shared_encoder(path: str | None) -> Encoder:
    try:
        from gatehouse.guard.ml.encoder import Encoder
    except ImportError as exc:  # numpy: the ml extra is not installed
        raise ImportError(
            f"the semantic guardrail layers need the ml extra ({exc}): "
            "pip install --no-deps --require-hashes -r requirements-ml.lock (make ml)"
        ) from exc
    return Encoder.load(path)


@functools.cache
def load_head(path: Path, model: str) -> LogisticHead:
    from gatehouse.guard.ml.head import LogisticHead

    return LogisticHead.load(path, model=model)


def shipped_head(name: str) -> Path:
    """A head that comes with the package: ``scanners/data/<name>.json``."""
    return Path(str(resources.files("gatehouse.guard.scanners") / "data" / f"{name}.json"))


class SemanticLayer:
    """An embedding head stacked on a heuristic layer. Subclasses name the parts."""

    isolated = True
    #: The scan worker's default budget per call: a 2 KB text takes ~0.2 s on one core,
    #: the longest (16 windows) ~1.6 s.
    budget_ms = 2000
    name: ClassVar[str]
    types: ClassVar[frozenset[str]]
    label: ClassVar[str]  # the finding type of a text the head alone flags
    head_name: ClassVar[str]  # data/<head_name>.json
    lexical: ClassVar[str]  # the heuristic scanner stacked with the head

    def __init__(self, model_path: str | Path | None = None, head_path: Path | None = None) -> None:
        if model_path is None:
            model_path = os.environ.get(MODEL_PATH_ENV)
        self.encoder = shared_encoder(str(model_path) if model_path else None)
        # A head made for other vectors is refused here, not silently misread.
        self.head = load_head(head_path or shipped_head(self.head_name), self.encoder.name)
        stack = self.head.metadata["stack"]
        self.stack = (float(stack["semantic"]), float(stack["lexical"]), float(stack["bias"]))
        self.layer: Scanner = build(self.lexical)
        from gatehouse.guard.ml.head import stacked

        self.combine = stacked  # the same formula the training script fitted

    def semantic(self, text: str) -> float:
        """The head's calibrated probability for the text's embedding."""
        return float(self.head.predict_proba(self.encoder.embed([text]))[0])

    def scan(self, text: str, context: ScanContext = DEFAULT_CONTEXT) -> list[Finding]:
        if not text.strip() or self.skips(context):
            return []
        found = self.layer.scan(text, context)
        lexical = max((f.score for f in found), default=0.0)
        p = float(self.combine(self.semantic(text), lexical, self.stack))
        if found:
            return [f.__class__(f.type, f.start, f.end, p) for f in found]
        return [Finding(self.label, 0, len(text), p)]

    def skips(self, context: ScanContext) -> bool:
        return False


class InjectionModel(SemanticLayer):
    name = "injection_ml"
    label = "PROMPT_INJECTION"
    head_name = "injection_head"
    lexical = "injection"
    types = frozenset(
        {
            "PROMPT_INJECTION",
            "INSTRUCTION_OVERRIDE",
            "ROLEPLAY_JAILBREAK",
            "FAKE_TURN",
            "HIDDEN_TEXT",
            "ENCODED_PAYLOAD",
            "PROMPT_EXTRACTION",
            "INDIRECT",
        }
    )

    def skips(self, context: ScanContext) -> bool:
        # The operator's own system prompt is not an attack on itself.
        return context.trusted and context.role in ("system", "developer")


class ToxicityModel(SemanticLayer):
    name = "toxicity_ml"
    label = "HATE"
    head_name = "toxicity_head"
    lexical = "toxicity"
    types = frozenset({"HATE", "THREAT", "SLUR", "DEHUMANISATION"})
