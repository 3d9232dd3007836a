"""Offline recogniser for people, organisations, places, addresses, groups and titles.

No model: a tokeniser, gazetteers built from real-world data (``data/gazetteer.tsv.gz``,
see ``data/SOURCES.md``; ordinary English words from ``wordfreq``), and general rules:
capitalised spans, context words, organisation suffixes, street-address grammar. Each
token gets a one-letter class and the address grammar is a regex over that class string.
"""

from __future__ import annotations

import gzip
import re
import unicodedata
from dataclasses import dataclass
from pathlib import Path

from gatehouse.guard.scanners.base import DEFAULT_CONTEXT, Finding, ScanContext

# Flags of data/gazetteer.tsv.gz (see scripts/build_name_data.py).
FIRST, LAST, COUNTRY, REGION, CITY, CONTINENT, GIVEN = 1, 2, 4, 8, 16, 32, 64
PLACE = COUNTRY | REGION | CONTINENT
DATA = Path(__file__).with_name("data") / "gazetteer.tsv.gz"
COMMON_WORDS = 30_000  # English words by frequency that count as ordinary vocabulary
BIG_CITY = 100_000  # a city this large is a place even without a preposition before it

TOKEN_RE = re.compile(
    r"\d+(?:[-/]\d+)*[A-Za-z]{0,3}\b|\d+|[^\W\d_](?:[\w'\u2019]|-(?=\w))*|\n|[^\s\w]"
)


def fold(text: str) -> str:
    folded = text.casefold()
    if folded.isascii():
        return folded
    folded = unicodedata.normalize("NFKD", folded)
    return "".join(ch for ch in folded if not unicodedata.combining(ch))


@dataclass(slots=True)
class Tok:
    text: str
    start: int
    end: int
    key: str  # folded text
    cls: str  # one letter; see NamePii._classify


class NamePii:
    name = "pii_ner"
    types = frozenset({"PERSON", "ORGANIZATION", "LOCATION", "STREET_ADDRESS", "NRP", "TITLE"})
    isolated = True

    def __init__(self) -> None:
        self._gaz: dict[str, tuple[int, int]] = {}
        self._multi: dict[str, int] = {}  # first word of a multi-word place -> its length
        with gzip.open(DATA, "rt", encoding="utf-8") as fh:
            for line in fh:
                key, flags, pop = line.rstrip("\n").split("\t")
                self._gaz[key] = (int(flags), int(pop))
                if " " in key and int(flags) & (PLACE | CITY):
                    words = key.split(" ")
                    self._multi[words[0]] = max(self._multi.get(words[0], 0), len(words))
        for alias in PLACE_ALIASES:
            self._gaz[fold(alias)] = (COUNTRY, 0)
        self._common = _common_words()
        self._seen: dict[str, tuple[str, str]] = {}

    # ---- lookups ----------------------------------------------------------------------
    def _flags(self, key: str) -> int:
        return self._gaz.get(key, (0, 0))[0]

    def _ordinary(self, key: str) -> bool:
        """An everyday English word (which a capital letter alone doesn't make a name)."""
        return key in self._common or key in FUNCTION_WORDS

    def _namey(self, key: str) -> bool:
        flags = self._flags(key)
        if flags & FIRST:
            return key not in FUNCTION_WORDS
        if flags & (LAST | GIVEN):
            return self._common.get(key, COMMON_WORDS) > 8_000
        return False

    def _place(self, key: str, has_prep: bool) -> bool:
        flags, pop = self._gaz.get(key, (0, 0))
        if flags & PLACE:
            return True
        return bool(flags & CITY) and (has_prep or pop >= BIG_CITY)

    # ---- scanning ---------------------------------------------------------------------
    def scan(self, text: str, context: ScanContext = DEFAULT_CONTEXT) -> list[Finding]:
        toks = [self._tok(m) for m in TOKEN_RE.finditer(text)]
        findings: list[Finding] = []
        taken = [False] * len(toks)
        self._addresses(toks, taken, findings)
        self._titles(toks, taken, findings)
        self._partner_firms(toks, taken, findings)
        self._runs(toks, taken, findings)
        return findings

    def _tok(self, m: re.Match[str]) -> Tok:
        text = m.group()
        seen = self._seen.get(text)
        if seen is None:
            if len(self._seen) > 50_000:  # a memo of word shapes, bounded
                self._seen.clear()
            key = fold(text)
            seen = self._seen[text] = (key, self._classify(text, key))
        return Tok(text, m.start(), m.end(), seen[0], seen[1])

    def _classify(self, text: str, key: str) -> str:
        """N number, S street word, K street compound, A unit word, P particle,
        U short upper code, C capitalised, L lower, and punctuation as itself."""
        ch = text[0]
        if ch.isdigit():
            return "N"
        if not ch.isalpha():
            return "\n" if ch == "\n" else ch
        if key in UNIT_WORDS:
            return "A"
        if key in STREET_WORDS:
            return "S"
        if ch.isupper() and key.endswith(STREET_SUFFIXES) and len(key) > 5:
            return "K"
        if key in PARTICLES:
            return "P"
        if ch.isupper():
            return "U" if text.isupper() and len(text) <= 3 else "C"
        return "L"

    def _addresses(self, toks: list[Tok], taken: list[bool], out: list[Finding]) -> None:
        shape = "".join(t.cls for t in toks)
        for m in ADDRESS.finditer(shape):
            a, b = m.span()
            while b > a and (
                toks[b - 1].cls in ",\n->."
                or (toks[b - 1].cls == "C" and self._ordinary(toks[b - 1].key))
            ):
                b -= 1
            if b - a < 2 or not _looks_like_address(shape[a:b]):
                continue
            out.append(Finding("STREET_ADDRESS", toks[a].start, _end(toks, b - 1), 0.75))
            for i in range(a, b):
                taken[i] = True
            self._places_in_address(toks, a, b, shape, out)

    def _places_in_address(
        self, toks: list[Tok], a: int, b: int, shape: str, out: list[Finding]
    ) -> None:
        # Capitalised runs after the street line are the town, region or country.
        street = max(shape.rfind("S", a, b), shape.rfind("K", a, b), shape.rfind("A", a, b))
        i = max(street + 1, a)
        while i < b:
            if toks[i].cls == "C":
                j = i
                while j + 1 < b and toks[j + 1].cls in "CP":
                    j += 1
                if i > street + 1 or toks[i - 1].cls in ",\n":
                    out.append(Finding("LOCATION", toks[i].start, toks[j].end, 0.6))
                i = j + 1
            else:
                i += 1

    def _partner_firms(self, toks: list[Tok], taken: list[bool], out: list[Finding]) -> None:
        """ "Smith, Jones and Brown": surnames in a list closed by "and" name a firm."""
        shape = "".join(t.cls if t.key != "and" else "&" for t in toks)
        for m in _PARTNERS.finditer(shape):
            a, b = m.span()
            if any(taken[a:b]):
                continue
            out.append(Finding("ORGANIZATION", toks[a].start, toks[b - 1].end, 0.7))
            for i in range(a, b):
                taken[i] = True

    def _titles(self, toks: list[Tok], taken: list[bool], out: list[Finding]) -> None:
        for i, t in enumerate(toks):
            if taken[i]:
                continue
            if t.key in HONORIFICS and t.cls in "CUS":
                nxt = i + 1
                end = t.end
                if nxt < len(toks) and toks[nxt].text == ".":
                    end, nxt = toks[nxt].end, nxt + 1
                if nxt < len(toks) and toks[nxt].cls in "CU":
                    out.append(Finding("TITLE", t.start, end, 0.85))
                    taken[i] = True
                    if end != t.end:
                        taken[i + 1] = True
            elif t.key in JOB_HEADS:
                self._job(toks, i, taken, out)

    def _job(self, toks: list[Tok], i: int, taken: list[bool], out: list[Finding]) -> None:
        j = i
        while j > 0 and i - j < 5:
            prev = toks[j - 1]
            if (
                (prev.cls in "CL" and prev.key not in FUNCTION_WORDS and prev.key not in CUE_ALL)
                or prev.cls == ","
                or prev.key == "and"
                or prev.text == "-"
            ):
                j -= 1
            else:
                break
        while toks[j].cls in ",-" or toks[j].key == "and":
            j += 1
        before = [t.key for t in toks[max(0, j - 3) : j]]
        line_alone = (j == 0 or toks[j - 1].cls == "\n") and (
            i + 1 == len(toks) or toks[i + 1].cls == "\n"
        )
        if not line_alone and not any(k in JOB_CUES for k in before):
            return
        out.append(Finding("TITLE", toks[j].start, toks[i].end, 0.6))
        for k in range(j, i + 1):
            taken[k] = True

    def _runs(self, toks: list[Tok], taken: list[bool], out: list[Finding]) -> None:
        i, n = 0, len(toks)
        while i < n:
            t = toks[i]
            if taken[i] or t.cls not in "CUKS":
                if not taken[i] and t.cls == "L" and t.key in NRP_WORDS:
                    out.append(Finding("NRP", t.start, t.end, 0.6))
                i += 1
                continue
            j = i
            while j + 1 < n and not taken[j + 1] and _continues(toks, j + 1):
                j += 1
            while toks[j].cls in "P-.":
                j -= 1
            self._classify_run(toks, i, j + 1, out)
            i = j + 1

    def _classify_run(self, toks: list[Tok], a: int, b: int, out: list[Finding]) -> None:
        words = [t for t in toks[a:b] if t.cls not in "-."]
        prev = _prev_words(toks, a)
        initial = not prev or prev[-1] in SENTENCE_END
        # A sentence-initial ordinary word ("Have", "The") is no name.
        while words and initial and self._ordinary(words[0].key) and not self._namey(words[0].key):
            if words[0].key in NRP_WORDS:
                break
            words = words[1:]
            initial = False
        if not words:
            return
        start, end = words[0].start, _end(toks, toks.index(words[-1], a))
        keys = [w.key for w in words]
        phrase = " ".join(keys)
        prev_key = prev[-1] if prev else ""
        nxt = _next_words(toks, b)
        if keys[-1] in ORG_SUFFIXES or any(k in ORG_WORDS for k in keys[1:]):
            out.append(Finding("ORGANIZATION", start, end, 0.8))
            return
        if len(keys) == 1 and keys[0] in NRP_WORDS:
            out.append(Finding("NRP", start, end, 0.8))
            return
        has_prep = prev_key in PLACE_CUES
        if self._place(phrase, has_prep):
            out.append(Finding("LOCATION", start, end, 0.75))
            return
        namey = [self._namey(k) for k in keys]
        org_cue = prev_key in ORG_CUES or any(k in ORG_CUES_AFTER for k in nxt[:2])
        person_cue = (
            prev_key in PERSON_CUES
            or " ".join(prev[-3:]) in PERSON_PHRASES
            or " ".join(prev[-2:]) in PERSON_PHRASES
            or (nxt and nxt[0] in SPEECH_VERBS)
        )
        ordinary = all(self._ordinary(k) and not self._namey(k) for k in keys)
        if _org_shape(toks, a, b):
            out.append(Finding("ORGANIZATION", start, end, 0.7))
        elif person_cue or (any(namey) and not org_cue):
            if ordinary and not person_cue:
                return
            out.append(Finding("PERSON", start, end, 0.8 if namey[0] or person_cue else 0.6))
        elif org_cue and not ordinary:
            out.append(Finding("ORGANIZATION", start, end, 0.6))
        elif has_prep and not ordinary and self._flags(phrase) & CITY:
            out.append(Finding("LOCATION", start, end, 0.6))
        elif not ordinary and len(words) <= 3 and not initial:
            out.append(Finding("PERSON", start, end, 0.4))


def _common_words() -> dict[str, int]:
    """Everyday English words with their frequency rank, from wordfreq (loaded once)."""
    import wordfreq

    words = wordfreq.top_n_list("en", COMMON_WORDS, wordlist="large")
    ranks = {fold(w): rank for rank, w in enumerate(words) if w.isalpha()}
    wordfreq.get_frequency_dict.cache_clear()
    wordfreq.get_frequency_list.cache_clear()
    return ranks


def _end(toks: list[Tok], i: int) -> int:
    """End of token ``i``, taking a following abbreviation dot along."""
    t = toks[i]
    nxt = toks[i + 1] if i + 1 < len(toks) else None
    if (
        nxt
        and nxt.text == "."
        and nxt.start == t.end
        and (len(t.text) == 1 or t.key in ABBREV or t.key in HONORIFICS or t.key in ORG_SUFFIXES)
    ):
        return nxt.end
    return t.end


def _continues(toks: list[Tok], i: int) -> bool:
    t = toks[i]
    prev = toks[i - 1]
    if t.cls in "CUKS":
        return True
    if t.cls == "P":
        return i + 1 < len(toks) and toks[i + 1].cls in "CU"
    if t.text == ".":  # an initial: "Velimir  Jankovic"
        return len(prev.text) == 1 and i + 1 < len(toks) and toks[i + 1].cls in "CU"
    if t.text in "-&" and t.start == prev.end:
        return i + 1 < len(toks) and toks[i + 1].cls in "CU"
    if t.text == "&":
        return i + 1 < len(toks) and toks[i + 1].cls in "CU"
    return False


def _org_shape(toks: list[Tok], a: int, b: int) -> bool:
    """Surname-style firm names: "Smith-Jones"; "Smith, Jones and Brown" is joined below."""
    inner = toks[a:b]
    if len(inner) == 3 and inner[1].text == "-" and inner[0].cls == inner[2].cls == "C":
        return a == 0 or toks[a - 1].cls not in "CU"
    if "&" in (t.text for t in inner):
        return True
    # "Smith, Jones and Brown": this run is the last name of the list.
    return (
        a >= 4 and toks[a - 1].key == "and" and toks[a - 2].cls == "C" and toks[a - 3].text == ","
    )


def _prev_words(toks: list[Tok], a: int) -> list[str]:
    out: list[str] = []
    i = a - 1
    while i >= 0 and len(out) < 4:
        t = toks[i]
        if t.cls in '.!?:\n"“”>;' or t.text in ".!?:;":
            out.append(".")
            break
        if t.cls not in ",'\u2019()":
            out.append(t.key)
        i -= 1
    return out[::-1]


def _next_words(toks: list[Tok], b: int) -> list[str]:
    return [t.key for t in toks[b : b + 3] if t.cls in "CLUPASK"]


def _looks_like_address(shape: str) -> bool:
    return ("S" in shape or "K" in shape or "A" in shape) or shape.count("N") >= 2


# ---- vocabulary: general shapes and cue words, not names ---------------------------------
def _words(text: str) -> frozenset[str]:
    return frozenset(fold(w) for w in text.split())


STREET_WORDS = _words(
    """street st str road rd avenue ave av lane ln boulevard blvd drive dr court ct place pl
    square sq terrace ter way parkway pkwy highway hwy circle cir crescent cres close grove
    gardens row walk alley trail turnpike pass bridge lodge crossing mill harbor harbour
    heights hills park plaza point ridge run view vista villas expressway freeway path pike
    mews wharf quay esplanade promenade calle avenida rua rue via viale vicolo piazza paseo
    camino carrer carretera travessa largo strasse straße gasse weg platz allee ring chaussee
    utca út ulica ul ulice cesta trg vej gade gata gatan vägen veien vei gate katu tie kuja
    polku laan straat gracht plein steeg kade dreef odos leoforos οδός λεωφόρος"""
)
STREET_SUFFIXES = tuple(
    _words(
        """katu tie kuja vej gade gatan gata vägen veien vegen vei stien straße str gasse weg
        laan straat steeg gracht allee platz ulica utca cesta"""
    )
)
UNIT_WORDS = _words("apt apartment suite ste unit box flat floor fl room rm bldg psc apo fpo dpo")
PARTICLES = _words("de del della di da do dos das du la le van von der den ten ter y nad pod")
HONORIFICS = _words(
    """mr mrs ms miss mx dr prof professor sir dame lady lord rev fr capt captain sgt col gen
    lt hon judge mme mlle herr frau sr sra srta dott"""
)
JOB_HEADS = _words(
    """engineer manager clerk operator technician director nurse accountant administrator
    analyst assistant officer consultant designer developer teacher lawyer attorney physician
    surgeon pharmacist scientist architect editor writer singer musician artist driver
    mechanic electrician plumber carpenter controller inspector supervisor coordinator
    specialist therapist counselor counsellor librarian secretary receptionist cashier
    salesperson broker chef cook waiter waitress packager programmer researcher professor
    lecturer economist statistician auditor planner producer photographer journalist reporter
    pilot attendant dispatcher installer repairer machinist welder laborer labourer worker
    assembler tester sorter distributor nanny firefighter paramedic dentist veterinarian
    psychologist sociologist geologist chemist biologist physicist translator interpreter
    ceo cto cfo coo president founder chairman executive cleaner caretaker instructor trainer
    buyer estimator surveyor curator archivist tutor"""
)
JOB_CUES = _words("as a an the job title position occupation profession role")
CUE_ALL = JOB_CUES
FUNCTION_WORDS = _words(
    """the a an and or of in on at to for with by from is are was were be i you he she it we
    they my your his her our their this that these those as but if so not no yes do does did
    have has had will would can could should may might must me him us them what who when
    where why how there here all any some hi hello dear thanks please i'm it's don't"""
)
SENTENCE_END = frozenset({"."})
PLACE_CUES = _words(
    """in from to at near visit visited visiting via towards toward into around across outside
    inside of flew moved born live lives living based"""
)
PERSON_CUES = _words(
    """dear hi hello hey thanks named called sincerely regards kid son daughter wife husband
    friend brother sister mother father mom mum dad colleague boss uncle aunt cousin user
    patient client customer mr mrs ms dr"""
)
PERSON_PHRASES = frozenset(
    {
        "name is",
        "my name is",
        "i am",
        "i'm",
        "this is",
        "last name",
        "first name",
        "full name",
        "surname is",
        "name's",
        "directed by",
        "written by",
        "by",
    }
)
SPEECH_VERBS = _words("said says told asked wrote replied shouted explained added answered")
ORG_CUES = _words("for joined join company firm employer at of by")
ORG_CUES_AFTER = _words(
    """inc company corporation office offices headquarters employees ceo shares stock announced
    is"""
) - {"is"}
ORG_SUFFIXES = _words(
    """inc llc ltd corp corporation co company group gmbh ag plc sa srl bv nv ab oy asa spa
    limited llp lp holdings partners associates foundation institute university bank
    technologies technology systems solutions labs research capital consulting markets
    analytics software media ventures industries enterprises services international agency
    trust fund hospital college association society council ministry club airlines motors
    pharmaceuticals networks communications insurance energy electric data"""
)
ORG_WORDS: frozenset[str] = frozenset()
ABBREV = _words("st str ave rd blvd apt ste inc ltd corp co dr mr mrs ms prof jr sr")
_NATIONS = """afghan albanian algerian american andorran angolan argentine argentinian armenian
    australian austrian azerbaijani bahraini bangladeshi belarusian belgian belizean belizian
    beninese bhutanese bolivian bosnian brazilian british bruneian bulgarian burmese burundian
    cambodian cameroonian canadian chadian chilean chinese colombian congolese croatian cuban
    cypriot czech danish dominican dutch ecuadorian ecuadorean egyptian emirati english
    eritrean estonian ethiopian fijian filipino finnish french gabonese gambian georgian german
    ghanaian greek greenlandic greenlander guatemalan guinean haitian honduran hungarian
    icelandic indian indonesian iranian iraqi irish israeli italian ivorian jamaican japanese
    jordanian kazakh kenyan korean kosovar kuwaiti kyrgyz laotian latvian lebanese liberian
    libyan liechtensteiner lithuanian luxembourgish macedonian malagasy malawian malaysian
    maldivian malian maltese mauritanian mauritian mexican moldovan monegasque mongolian
    montenegrin moroccan mozambican namibian nepalese nepali nicaraguan nigerian nigerien
    norwegian omani pakistani palestinian panamanian paraguayan persian peruvian polish
    portuguese qatari romanian russian rwandan salvadoran samoan saudi scottish senegalese
    serbian singaporean slovak slovakian slovene slovenian somali spanish sudanese surinamese
    swedish swiss syrian taiwanese tajik tanzanian thai togolese tongan tunisian turkish
    turkmen ugandan ukrainian uruguayan uzbek venezuelan vietnamese welsh yemeni zambian
    zimbabwean european african asian latino hispanic arab arabic slavic nordic scandinavian
    chechen kurdish basque catalan flemish walloon roma bavarian texan californian"""
_BELIEFS = """christian catholic protestant orthodox evangelical lutheran methodist baptist
    anglican mormon muslim islamic sunni shia shiite jewish judaism hindu buddhist sikh jain
    atheist agnostic democrat republican socialist communist conservative liberal libertarian
    labourite tory marxist"""
NRP_WORDS = (
    _words(_NATIONS + _BELIEFS)
    | frozenset(
        w + "s"
        for w in _words(_NATIONS + _BELIEFS)
        if not w.endswith(("sh", "ese", "ch", "s", "i"))
    )
    | _words("saudis iraqis israelis pakistanis shiis sunnis englishmen frenchmen dutchmen swiss")
)
PLACE_ALIASES = (
    "Czech Republic",
    "USA",
    "UK",
    "Great Britain",
    "England",
    "Scotland",
    "Wales",
    "Northern Ireland",
    "Holland",
    "Russia",
    "South Korea",
    "North Korea",
    "Vietnam",
    "Iran",
    "Syria",
    "Laos",
    "Bolivia",
    "Venezuela",
    "Tanzania",
    "Moldova",
    "Ivory Coast",
    "Taiwan",
    "Burma",
    "Europe",
    "Africa",
    "Asia",
    "America",
    "Scandinavia",
    "Siberia",
    "Middle East",
    "Balkans",
    "Caribbean",
    "United States",
    "United Kingdom",
)

# Street-address grammar over the token classes (see NamePii._classify).
_SEP = r"[,\n>]{0,3}"
_CORE = (
    r"(?:N{1,3}[CPUL'-]{0,5}?[SK]\.?N?"  # 12 Baker Street, 6750 Koskikatu 25
    r"|[SK]\.?[CPL'-]{1,5}N"  # Avenida Otoniel Dutra 1277, Rue de la Paix 12
    r"|[CP-]{0,3}K\.?N"  # Vesterskovvej 79
    r"|N{1,2}[CP-]{1,4}\.?N"  # 5366 Pivovarska 276
    r"|(?:U\.U\.)?A\.?N(?:,A\.?N)?)"  # Apt. 4, P.O. Box 242, PSC 5420, Box 2708
)
_TAIL = r"(?:" + _SEP + r"(?:A\.?N|[AU]{1,2}N|N|[CUP'-]{1,6}\.?))"
_PARTNERS = re.compile(r"(?<![CU,])C(?:,C){1,3},?&C(?![CU])")
ADDRESS = re.compile(_CORE + _TAIL + r"{0,8}")
