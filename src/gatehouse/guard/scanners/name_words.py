"""Word lists of the ``pii_ner`` scanner (``names.py``): general vocabulary, never names.

Street and unit words, particles, honorifics, job heads, cue words, calendar words in
several languages, legal forms of companies, and nationality / belief words. None of it
comes from a synthetic-data generator.
"""

from __future__ import annotations

import unicodedata


def fold(text: str) -> str:
    """Case-fold, strip accents and use one apostrophe: the key of every lookup."""
    folded = text.casefold().replace("\u2019", "'")
    if folded.isascii():
        return folded
    folded = unicodedata.normalize("NFKD", folded)
    return "".join(ch for ch in folded if not unicodedata.combining(ch))


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
        laan straat steeg gracht allee platz ulica utca cesta damm ufer markt
        -ku -shi -cho -machi -gun -dong -gu"""
    )
)
# Capitalised German prepositions that begin a street name: "Am Hafen 7", "Zum Markt 3".
STREET_PREFIXES = _words("am im zum zur auf an")
UNIT_WORDS = _words("apt apartment suite ste unit box flat floor fl room rm bldg psc apo fpo dpo")
PARTICLES = _words(
    """de del della delle dei degli di da do dos das du des la le les los las el al van von
    der den dem ten ter het y nad pod"""
)
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
    where why how there here all any some hi hello dear thanks please i'm it's don't i've
    i'll i'd we're we've you're that's he's she's let's here's there's"""
)
# Field labels and abbreviations that a capital letter or a census list makes look like
# a name ("Tel: ...", "Ref 123").
LABEL_WORDS = _words(
    """tel fax mob mobile ph phone email e-mail ext ref nr no iban bic swift vat attn re
    fwd cc bcc subject pin otp sku acct"""
)
# Months and weekdays, full and abbreviated, in English, German, French, Spanish, Italian,
# Portuguese and Dutch. A full name is a date word unless a surname follows it ("June
# Carter"); an abbreviation only next to a number or another date word ("Jan 5").
CALENDAR_FULL = _words(
    """january february march april may june july august september october november december
    monday tuesday wednesday thursday friday saturday sunday
    januar jänner februar märz mai juni juli oktober dezember montag dienstag mittwoch
    donnerstag freitag samstag sonnabend sonntag
    janvier février mars avril juin juillet août septembre octobre novembre décembre lundi
    mardi mercredi jeudi vendredi samedi dimanche
    enero febrero marzo abril mayo junio julio agosto septiembre setiembre octubre noviembre
    diciembre lunes martes miércoles jueves viernes sábado domingo
    gennaio febbraio aprile maggio giugno luglio settembre ottobre dicembre lunedì martedì
    mercoledì giovedì venerdì sabato domenica
    janeiro fevereiro março maio junho julho setembro outubro dezembro terça quarta quinta
    sexta
    januari februari maart mei augustus maandag dinsdag woensdag donderdag vrijdag zaterdag
    zondag"""
)
CALENDAR_ABBREV = _words(
    """jan feb mar apr jun jul aug sep sept oct nov dec mon tue tues wed thu thur thurs fri
    sat sun mär okt dez janv févr avr juil déc ene ago dic gen mag giu lug ott fev set out
    mrt"""
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
    pharmaceuticals networks communications insurance energy electric data service
    authority department bureau commission administration directorate union federation
    academy"""
)
# Heads of institution names that take an "of"/"for" phrase: "Indian Institute of
# Science", "University of Leeds", "Ministry for Health", "Bundesagentur für Arbeit".
INSTITUTION_HEADS = _words(
    """institute institut university universität université universidad università
    universidade college school academy bank ministry department office bureau agency
    authority commission council board foundation society association federation union
    centre center museum hospital library laboratory committee court chamber league
    church embassy consulate police service services corporation company trust fund
    government republic kingdom"""
)
# German compounds that name a body: "Bundesagentur", "Finanzamt", "Krankenkasse".
INSTITUTION_COMPOUNDS = tuple(
    _words("agentur ministerium amt kasse anstalt institut verband behörde gericht bank")
)
INSTITUTION_LINKS = _words("of for für de des du di del della and &")
# Legal forms that end a company name, matched on the raw text so that the dotted ones
# ("S.r.l.", "Sp. z o.o.") stay one span. Those that are also short English words or
# codes ("AS", "AB", "SE") count only after a capitalised word.
LEGAL_FORMS = (
    r"S\.\s?[AL]\.(?:U\.)?|S\.\s?r\.\s?l\.|S\.\s?p\.\s?A\.|S\.\s?A\.\s?S\.|S\.\s?A\.\s?R\.\s?L\."
    r"|S\.\s?C\.|[BN]\.\s?V\.|e\.\s?V\.|Sp\.\s?z\s?o\.\s?o\.|s\.\s?r\.\s?o\.|d\.\s?o\.\s?o\."
    r"|a\.\s?s\.|K\.\s?K\.|L\.\s?L\.\s?C\.|GmbH(?:\s?&\s?Co\.\s?KG)?|KGaA|AG|KG|OHG|GbR|UG"
    r"|Oyj?|ASA|AS|A/S|ApS|AB|SE|BV|NV|Pty\.?\s+Ltd\.?|Pte\.?\s+Ltd\.?|Ltd\.?|Limited"
    r"|PLC|plc|LLP|LLC|Inc\.?|Corp\.?|Co\.|SARL|SAS|SRL|Srl|SpA|Kft\.?|Zrt\.?|OOO"
)
# The run-on job head of "Head of Procurement", "Director of Sales", "VP of Engineering".
JOB_OF_HEADS = _words("head director vp manager chief dean lead officer")
ORG_WORDS: frozenset[str] = frozenset()
ABBREV = _words(
    "st str ave rd blvd apt ste inc ltd corp co bros intl dept mfg dr mr mrs ms prof jr sr"
)
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
