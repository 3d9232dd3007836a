"""Build bench/data/pii_heldout.jsonl: a small hand-written held-out PII / secrets set.

Every sentence template and value below was written by hand (no Faker or other
synthetic-data library). Checksummed values (card numbers, IBANs) and random
credentials are generated here from a seeded PRNG so the file is reproducible; the
credentials are random characters in the providers' shapes, not real keys.

Run:  python bench/data/make_pii_heldout.py   (writes pii_heldout.jsonl next to it)

Labelling conventions
* A multi-part postal address is one STREET_ADDRESS span (city/postcode/country inside
  it are not labelled separately); a city or country on its own is LOCATION.
* Honorifics ("Dr.", "Mrs", "Herr", "Mme") and job titles tied to a person are TITLE;
  the name after them is PERSON.
* Web URLs and bare public domain names are DOMAIN_NAME (the domain inside an e-mail
  address is not); a Slack webhook URL is both SLACK_WEBHOOK and DOMAIN_NAME.
* Log timestamps, relative dates with a time ("tomorrow at 9:30") and written dates
  are DATE_TIME; a bare year is DATE_TIME only when it dates a person's own event
  ("worked there from 2019 to 2022", "my 2022 return"); years in general/historical
  prose, version numbers and durations are not labelled.
* Nationality/religion adjectives are NRP only when they describe a person (Presidio's
  definition), not a company, account or language ("our Dutch entity", "to German").
* URL_PASSWORD covers only the password of scheme://user:password@host; PASSWORD the
  value after password=/"password":/pwd:/"my password is". Placeholders such as
  ${DB_PASSWORD} or ******** are not secrets.
* PRIVATE_KEY covers the whole PEM block including BEGIN/END lines.
"""

from __future__ import annotations

import base64
import json
import random
import string
from pathlib import Path

R = random.Random(20240611)
OUT = Path(__file__).with_name("pii_heldout.jsonl")

ALNUM = string.ascii_letters + string.digits
UPPERNUM = string.ascii_uppercase + string.digits
B64 = ALNUM + "+/"
URLSAFE = ALNUM + "-_"


# --- random, checksummed and secret-shaped values ----------------------------------


def rnd(chars: str, n: int) -> str:
    return "".join(R.choice(chars) for _ in range(n))


def digits(n: int) -> str:
    return rnd(string.digits, n)


def luhn_digit(body: str) -> str:
    total = 0
    for i, ch in enumerate(reversed(body)):
        d = int(ch)
        if i % 2 == 0:
            d *= 2
            if d > 9:
                d -= 9
        total += d
    return str((10 - total % 10) % 10)


def card(prefix: str, length: int) -> str:
    body = prefix + digits(length - len(prefix) - 1)
    return body + luhn_digit(body)


def bad_card(prefix: str, length: int) -> str:
    good = card(prefix, length)
    return good[:-1] + str((int(good[-1]) + R.randint(1, 9)) % 10)


def groups(number: str, sizes: list[int], sep: str = " ") -> str:
    out, i = [], 0
    for s in sizes:
        out.append(number[i : i + s])
        i += s
    return sep.join(out)


def iban(country: str, bban: str, spaced: bool = True) -> str:
    moved = bban + country + "00"
    num = "".join(str(int(c, 36)) for c in moved)
    check = 98 - int(num) % 97
    raw = f"{country}{check:02d}{bban}"
    return " ".join(raw[i : i + 4] for i in range(0, len(raw), 4)) if spaced else raw


def b64url(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).decode().rstrip("=")


def jwt(payload: dict, alg: str = "HS256") -> str:
    head = b64url(json.dumps({"alg": alg, "typ": "JWT"}, separators=(",", ":")).encode())
    body = b64url(json.dumps(payload, separators=(",", ":")).encode())
    sig = rnd(URLSAFE, 43 if alg.startswith("HS") else 86)
    return f"{head}.{body}.{sig}"


def pem(kind: str, lines: int = 4, cut: bool = False) -> str:
    label = f"{kind} PRIVATE KEY" if kind else "PRIVATE KEY"
    body = "\n".join(rnd(B64, 64) for _ in range(lines)) + "\n" + rnd(B64, R.randint(12, 40))
    if cut:
        return f"-----BEGIN {label}-----\n{body}"
    return f"-----BEGIN {label}-----\n{body}=\n-----END {label}-----"


def ghp() -> str:
    return "ghp_" + rnd(ALNUM, 36)


def aws_id() -> str:
    return "AKIA" + rnd(UPPERNUM, 16)


def aws_secret() -> str:
    return rnd(B64, 40)


def openai_key(proj: bool = True) -> str:
    if proj:
        return "sk-proj-" + rnd(URLSAFE, 74) + "T3BlbkFJ" + rnd(URLSAFE, 74)
    return "sk-" + rnd(ALNUM, 20) + "T3BlbkFJ" + rnd(ALNUM, 20)


def hexs(n: int) -> str:
    return rnd("0123456789abcdef", n)


def uuid() -> str:
    h = hexs(32)
    return f"{h[:8]}-{h[8:12]}-4{h[13:16]}-a{h[17:20]}-{h[20:]}"


# --- building texts with exact offsets ---------------------------------------------

RECORDS: list[dict] = []


def T(*parts) -> None:
    """Concatenate parts; a (TYPE, value) tuple becomes a labelled span.

    A tuple with several types, ("A+B", value), labels the same span with each.
    """
    text, spans = "", []
    for p in parts:
        if isinstance(p, tuple):
            kinds, value = p
            for kind in kinds.split("+"):
                spans.append({"type": kind, "start": len(text), "end": len(text) + len(value)})
            text += value
        else:
            text += p
    RECORDS.append({"text": text, "spans": spans})


def L(kind):
    return lambda v: (kind, v)


PER, ORG, LOC, ADDR = L("PERSON"), L("ORGANIZATION"), L("LOCATION"), L("STREET_ADDRESS")
TTL, NRP = L("TITLE"), L("NRP")
EM, PH, DT, CC, IB = (
    L("EMAIL_ADDRESS"),
    L("PHONE_NUMBER"),
    L("DATE_TIME"),
    L("CREDIT_CARD"),
    L("IBAN_CODE"),
)
SSN, IP, DOM = L("US_SSN"), L("IP_ADDRESS"), L("DOMAIN_NAME")
AGE, ZIP, DL = L("AGE"), L("ZIP_CODE"), L("US_DRIVER_LICENSE")
PWD, UPWD, PK, JWT_ = L("PASSWORD"), L("URL_PASSWORD"), L("PRIVATE_KEY"), L("JWT")
GH, GL, SLK, HOOK = (
    L("GITHUB_TOKEN"),
    L("GITLAB_TOKEN"),
    L("SLACK_TOKEN"),
    L("SLACK_WEBHOOK+DOMAIN_NAME"),
)
AWSK, AWSS, OAI, ANT = (
    L("AWS_ACCESS_KEY"),
    L("AWS_SECRET_KEY"),
    L("OPENAI_API_KEY"),
    L("ANTHROPIC_API_KEY"),
)
STRIPE, GCP, ENT = L("STRIPE_KEY"), L("GCP_API_KEY"), L("HIGH_ENTROPY")


# =====================================================================================
# 1. Chat messages and support tickets (mixed PII)
# =====================================================================================

T(
    "Hi, I'm ",
    PER("Priya Raghunathan"),
    " and I can't log in. My account email is ",
    EM("priya.r+gatehouse@outlook.com"),
    " and my number is ",
    PH("+91 98450 31277"),
    ".",
)
T("can u change my phone to ", PH("(415) 555-0178"), " pls, the old one was ", PH("415-555-0143"))
T(
    "Please call me back on ",
    PH("020 7946 0321"),
    " after 4pm, ask for ",
    PER("Siobhan Gallagher"),
    ".",
)
T(
    "Ticket #48213: customer ",
    PER("Tomás Herrera"),
    " (",
    EM("t.herrera@correo.banco-solera.es"),
    ") reports double charge on card ending 4471. Callback: ",
    PH("+34 612 48 90 37"),
    ".",
)
T(
    "My credit card ",
    CC(groups(card("4", 16), [4, 4, 4, 4])),
    " got charged twice on ",
    DT("March 3rd"),
    ", can you refund one of them?",
)
T(
    "Here's the card I want to use: ",
    CC(groups(card("5", 16), [4, 4, 4, 4], "-")),
    " exp 08/27 cvv 412",
)
T(
    "amex ",
    CC(groups(card("37", 15), [4, 6, 5])),
    " - please update the subscription for ",
    ORG("Halvorsen Maritime AS"),
)
T(
    "Hello, this is ",
    TTL("Dr."),
    " ",
    PER("Oluwaseun Adeyemi"),
    " from ",
    ORG("Lagos University Teaching Hospital"),
    ". I need to reschedule the demo to ",
    DT("Thursday 14 November at 10:30"),
    ".",
)
T(
    "I moved! New address is ",
    ADDR("1842 Larkspur Lane, Apt 3B, Denver, CO 80211"),
    ", please send the replacement device there.",
)
T(
    "Ship to:\n",
    PER("Margaret O'Connell"),
    "\n",
    ADDR("Flat 2, 17 Wexford Road\nLeeds LS6 2QT\nUnited Kingdom"),
    "\nTel: ",
    PH("+44 113 496 0752"),
)
T(
    "Bitte schicken Sie die Rechnung an ",
    PER("Anneliese Vogt"),
    ", ",
    ADDR("Lindenstraße 42, 10969 Berlin"),
    ". Rückfragen gerne unter ",
    PH("030 48 92 17 55"),
    ".",
)
T(
    "Bonjour, je m'appelle ",
    PER("Chloé Lefèvre"),
    " et j'habite au ",
    ADDR("14 rue des Tanneurs, 69002 Lyon"),
    ". Mon numéro : ",
    PH("06 71 23 48 95"),
    ".",
)
T(
    "Hola, soy ",
    PER("José María Gutiérrez"),
    ". Mi correo es ",
    EM("jmgutierrez@telefonica.net"),
    " y vivo en ",
    LOC("Sevilla"),
    ".",
)
T("my ssn is ", SSN("512-44-7391"), " do you need anything else for the tax form?")
T(
    "Employee record: ",
    PER("Darnell Washington"),
    ", SSN ",
    SSN("287 65 4310"),
    ", DOB ",
    DT("04/17/1986"),
    ".",
)
T(
    "I'm ",
    AGE("34"),
    " years old and live in ",
    LOC("Toronto"),
    ", is the plan available in ",
    LOC("Canada"),
    "?",
)
T(
    "Forward this to ",
    PER("Kenji Watanabe"),
    " at ",
    EM("kenji.watanabe@tsubame-denki.co.jp"),
    ", he handles the ",
    LOC("Osaka"),
    " office.",
)
T("wire it to ", IB(iban("DE", digits(18))), " (", PER("Jonas Pfeiffer"), "), reference INV-2291")
T(
    "IBAN: ",
    IB(iban("GB", "NWBK" + digits(14), spaced=False)),
    " / account holder ",
    ORG("Brightwater Analytics Ltd"),
)
T("Mon IBAN est ", IB(iban("FR", digits(23))), ", merci de rembourser les frais.")
T(
    "Por favor, transfiera el reembolso a ",
    IB(iban("ES", digits(20))),
    " a nombre de ",
    PER("Lucía Fernández Ortega"),
    ".",
)
T(
    "Our Dutch entity's account: ",
    IB(iban("NL", "INGB" + digits(10))),
    " (",
    ORG("Vlietstra Bouw B.V."),
    ")",
)
T(
    "My phone died, reach me on WhatsApp ",
    PH("+55 11 98765-4312"),
    " or email ",
    EM("fernanda.costa@uol.com.br"),
)
T(
    "Pls add ",
    PER("Arjun Mehta"),
    " (",
    EM("arjun.mehta@infinitycapital.in"),
    ") and ",
    PER("Ananya Iyer"),
    " (",
    EM("ananya.iyer@infinitycapital.in"),
    ") to the workspace.",
)
T(
    "Call ",
    PER("Zhang Wei"),
    " at ",
    PH("+86 138 0571 2246"),
    " regarding the ",
    LOC("Shenzhen"),
    " shipment.",
)
T(
    PER("Haruka Sato"),
    " will join from ",
    LOC("Tokyo"),
    "; her mobile is ",
    PH("090-3812-5567"),
    ".",
)
T(
    "Dear ",
    TTL("Mrs"),
    " ",
    PER("Okonkwo"),
    ", your appointment is confirmed for ",
    DT("5 October 2024"),
    " at ",
    ORG("St Bartholomew's Hospital"),
    ".",
)
T(
    "The contract was signed by ",
    PER("Björn Ekström"),
    " on behalf of ",
    ORG("Nordlys Energi AB"),
    " in ",
    LOC("Gothenburg"),
    " on ",
    DT("2023-11-08"),
    ".",
)
T(
    "Hi team, ",
    PER("Mei-Ling Chen"),
    " here. I'm out from ",
    DT("Dec 23"),
    " to ",
    DT("Jan 2"),
    "; ping ",
    PER("Rahul"),
    " for anything urgent.",
)
T(
    "Can you summarise this complaint? 'I, ",
    PER("Fatima Zahra Benali"),
    ", have been waiting since ",
    DT("15/02/2024"),
    " for my refund from ",
    ORG("Marbella Viajes S.L."),
    ".'",
)
T(
    "login from ",
    IP("81.2.69.160"),
    " looks suspicious, the user is in ",
    LOC("Portugal"),
    " normally",
)
T("Our VPN gateway is ", IP("2001:db8:4f2a::17"), ", the backup one ", IP("198.51.100.23"), ".")
T("hey it's ", PER("Dmitri"), ", my new number is ", PH("+7 916 482-35-19"), ", old sim is dead")
T(
    "Kontakt: ",
    TTL("Herr"),
    " ",
    PER("Matthias Brunner"),
    ", ",
    PH("+41 44 668 18 37"),
    ", ",
    EM("m.brunner@alpen-treuhand.ch"),
)
T(
    "Emergency contact: ",
    PER("Aroha Ngata"),
    " (sister) ",
    PH("021 884 3190"),
    ", ",
    LOC("Wellington"),
    ".",
)
T(
    "The patient, a ",
    AGE("67"),
    "-year-old ",
    NRP("Filipino"),
    " man, was admitted on ",
    DT("June 12, 2023"),
    ".",
)
T("I'm a ", NRP("Catholic"), " priest in ", LOC("Kraków"), " and I'd like help writing a homily.")
T(
    "Please update the billing contact to ",
    PER("Ewa Kowalska"),
    ", ",
    EM("ewa.kowalska@wp.pl"),
    ", tel. ",
    PH("+48 601 234 587"),
    ".",
)
T(
    "Reach our ",
    LOC("Sydney"),
    " desk on ",
    PH("(02) 9371 4582"),
    " or ",
    PH("+61 412 773 908"),
    ".",
)
T("Support line ", PH("1-800-555-0199 ext. 4412"), " is open ", DT("Monday to Friday"), ".")
T("call me at ", PH("212.555.0187 x204"), " tomorrow")
T("Mein Geburtsdatum ist der ", DT("14.02.1979"), ", meine Steuer-ID brauchen Sie nicht, oder?")
T("Rendez-vous ", DT("le 12 mars 2024 à 14h"), " avec ", TTL("Mme"), " ", PER("Dubois"), ".")
T(
    "La reunión es ",
    DT("el 5 de mayo"),
    " en ",
    LOC("Ciudad de México"),
    ", llama a ",
    PH("+52 55 4187 2290"),
    ".",
)
T(
    "Send the NDA to ",
    PER("Kwame Mensah"),
    ", ",
    ORG("Ashanti Cocoa Traders"),
    ", ",
    LOC("Accra"),
    ", ",
    LOC("Ghana"),
    ".",
)
T(
    "Can you write a reference letter for ",
    PER("Giulia Romano"),
    "? She worked with me at ",
    ORG("Politecnico di Milano"),
    " from ",
    DT("2019"),
    " to ",
    DT("2022"),
    ".",
)
T(
    "My driver's license number is ",
    DL("D4521-88413-02917"),
    " and my zip code is ",
    ZIP("60614"),
    ".",
)
T(
    "Hi, I need to change my delivery slot to ",
    DT("tomorrow between 9 and 11am"),
    ". Order 771-3390-12.",
)
T(
    "The account of ",
    PER("Nguyen Thi Lan"),
    " (",
    EM("lan.nguyen88@gmail.com"),
    ") was locked after 5 failed attempts from ",
    IP("113.161.72.5"),
    ".",
)
T(
    "Write a birthday message for my colleague ",
    PER("Sven Lindqvist"),
    " who turns ",
    AGE("50"),
    " on ",
    DT("Friday"),
    ".",
)
T(
    "I work as a ",
    TTL("Senior Data Engineer"),
    " at ",
    ORG("Tessaract Biolabs"),
    " in ",
    LOC("Boston"),
    ".",
)
T(
    "Customer ",
    PER("Hiroshi Yamamoto"),
    " paid with JCB ",
    CC(groups(card("3566", 16), [4, 4, 4, 4])),
    "; please verify.",
)
T("Discover card on file: ", CC(card("6011", 16)), ". Name: ", PER("Rosa Delgado"), ".")
T(
    "Diners Club ",
    CC(groups(card("3056", 14), [4, 6, 4])),
    " was declined at the hotel in ",
    LOC("Vienna"),
    ".",
)
T(
    "Paid via UnionPay ",
    CC(groups(card("62", 16), [4, 4, 4, 4])),
    ", ",
    PER("Li Na"),
    ", ",
    LOC("Beijing"),
    ".",
)
T("mastercard ", CC(groups(card("23", 16), [4, 4, 4, 4])), " pls charge 49.99 EUR")
T(
    "Transfer to ",
    IB(iban("IT", "X" + digits(22))),
    " (",
    ORG("Ferramenta Bellini S.r.l."),
    ", ",
    LOC("Bologna"),
    ")",
)
T(
    "Bankverbindung: ",
    ORG("Raiffeisenbank Graz"),
    ", IBAN ",
    IB(iban("AT", digits(16))),
    ", lautend auf ",
    PER("Katharina Huber"),
)
T("Please pay ", IB(iban("BE", digits(12))), " before ", DT("31 January"), ".")
T(
    "Polish supplier IBAN ",
    IB(iban("PL", digits(24), spaced=False)),
    ", contact ",
    PER("Piotr Zieliński"),
    ".",
)
T("CH IBAN for the Zurich office: ", IB(iban("CH", digits(17))), ".")
T(
    "Irish account ",
    IB(iban("IE", "AIBK" + digits(14))),
    " belongs to ",
    PER("Siobhán Ní Bhriain"),
    ".",
)
T(
    TTL("Prof."),
    " ",
    PER("Rajesh Subramanian"),
    " (",
    ORG("Indian Institute of Science"),
    ", ",
    LOC("Bengaluru"),
    ") will chair the session.",
)
T(
    "Our ",
    LOC("Mumbai"),
    " office: ",
    ADDR("Flat 4B, Shanti Apartments, 12th Main Road, Indiranagar, Bengaluru 560038"),
    " is the registered address, not ",
    LOC("Mumbai"),
    ".",
)
T(
    "Mail the forms to ",
    ADDR("455 Rue Saint-Denis, Montréal, QC H2X 3L5"),
    ", attention ",
    PER("Geneviève Tremblay"),
    ".",
)
T(
    "Office: ",
    ADDR("Keizersgracht 221-H, 1016 DV Amsterdam"),
    ". Phone ",
    PH("+31 20 624 1187"),
    ".",
)
T("Deliver to ", ADDR("Unit 5, 22 Kelly Street, Ultimo NSW 2007"), " between 9-5.")
T(
    "住所 is ",
    ADDR("1-2-3 Jingumae, Shibuya-ku, Tokyo 150-0001"),
    ", contact ",
    PER("Takeshi Nakamura"),
    ".",
)
T(
    "Return address:\n",
    ORG("Kranich Logistik GmbH"),
    "\n",
    ADDR("Am Hafen 7\n28217 Bremen\nGermany"),
)
T("Dirección de envío: ", ADDR("Calle de Alcalá 118, 3º izq., 28009 Madrid"), ".")
T("Registered office: ", ADDR("Via Giuseppe Garibaldi 45, 00153 Roma RM, Italy"), ".")
T(
    "He lives at ",
    ADDR("77 Harbour View Terrace, Cape Town 8001"),
    " with his wife ",
    PER("Thandiwe"),
    ".",
)
T(
    "Can you check if ",
    EM("accounts-payable@eu.northfield-cu.org"),
    " is on the allowlist? It's ",
    ORG("Northfield Credit Union"),
    "'s AP mailbox.",
)
T("cc: ", EM("j.smith@corp.mail.example-insure.com"), ", ", EM("ops+alerts@bayside.dev"))
T(
    "Visit ",
    DOM("https://www.meridian-health.co.uk/appointments"),
    " or call ",
    PH("0161 496 0233"),
    ".",
)
T(
    "our status page moved to ",
    DOM("status.kestrelpay.io"),
    ", not ",
    DOM("kestrelpay.com/status"),
    " anymore",
)
T(
    "Read the report at ",
    DOM("http://intranet.halvorsen-maritime.no/reports/q3.pdf"),
    " before ",
    DT("Monday"),
    ".",
)
T(
    "As an ",
    NRP("Indian"),
    " citizen living in ",
    LOC("Germany"),
    ", do I need a visa for ",
    LOC("Switzerland"),
    "?",
)
T("The ", ORG("Bundesagentur für Arbeit"), " sent me a letter dated ", DT("3. Juni 2024"), ".")
T(
    "I got a letter from the ",
    ORG("Internal Revenue Service"),
    " about my ",
    DT("2022"),
    " return, SSN ",
    SSN("431-09-8825"),
    ".",
)
T(
    "Our team at ",
    ORG("Université Paris-Saclay"),
    " is collaborating with ",
    ORG("Eastbrook Robotics Inc."),
    ".",
)
T(
    PER("Joon-ho Park"),
    " and ",
    PER("Seo-yeon Kim"),
    " from ",
    ORG("Hanbit Semiconductor"),
    " are visiting ",
    LOC("Austin"),
    ".",
)
T(
    "Signed,\n",
    PER("Emeka Okafor"),
    "\n",
    TTL("Head of Procurement"),
    "\n",
    ORG("Okafor & Sons Logistics Ltd"),
    "\n",
    PH("+234 803 555 0199"),
)
T(
    "Best regards,\n",
    PER("Ingrid Haugen"),
    "\n",
    TTL("Chief Financial Officer"),
    "\n",
    ORG("Fjordline Shipping ASA"),
    " | ",
    DOM("www.fjordline-shipping.no"),
)
T(
    "--\n",
    PER("Yuki Tanaka"),
    " | ",
    TTL("Product Manager"),
    "\n",
    EM("yuki.tanaka@hoshizora.jp"),
    " | ",
    PH("+81 3-5412-7789"),
)
T("Thanks! — ", PER("Mohammed Al-Rashid"), ", ", ORG("Gulf Horizon Logistics"), ", ", LOC("Dubai"))

# =====================================================================================
# 2. CSV-ish and structured records
# =====================================================================================

T(
    "id,name,email,phone,country\n1042,",
    PER("Anika Sharma"),
    ",",
    EM("anika.sharma@protonmail.com"),
    ",",
    PH("+44 7700 900461"),
    ",",
    LOC("UK"),
    "\n1043,",
    PER("Luis Ortega"),
    ",",
    EM("lortega@yahoo.es"),
    ",",
    PH("+34 699 120 455"),
    ",",
    LOC("Spain"),
)
T(
    "name;iban;amount\n",
    PER("Schulz, Petra"),
    ";",
    IB(iban("DE", digits(18), spaced=False)),
    ";1.250,00\n",
    PER("Wagner, Tim"),
    ";",
    IB(iban("DE", digits(18), spaced=False)),
    ";980,00",
)
T(
    "first_name,last_name,ssn,dob\n",
    PER("Tyrone"),
    ",",
    PER("Jackson"),
    ",",
    SSN("604-19-2287"),
    ",",
    DT("1991-07-23"),
    "\n",
    PER("Emily"),
    ",",
    PER("Nakagawa"),
    ",",
    SSN("219-54-0831"),
    ",",
    DT("1988-02-11"),
)
T(
    '{"customer": {"name": "',
    PER("Marta Nowak"),
    '", "email": "',
    EM("marta.nowak@onet.pl"),
    '", "phone": "',
    PH("+48 512 087 334"),
    '", "created_at": "',
    DT("2024-05-02T08:14:11Z"),
    '"}}',
)
T(
    "| ",
    PER("Carlos Mendoza"),
    " | ",
    EM("carlos@mendoza-import.mx"),
    " | ",
    PH("55 2481 9930"),
    " | ",
    LOC("Guadalajara"),
    " |",
)
T(
    "<user><name>",
    PER("Olga Petrova"),
    "</name><ip>",
    IP("95.173.136.72"),
    "</ip><card>",
    CC(card("4", 16)),
    "</card></user>",
)
T(
    "Name: ",
    PER("Ahmed Hassan"),
    "\nDOB: ",
    DT("02 Jan 1975"),
    "\nPassport country: ",
    LOC("Egypt"),
    "\nPhone: ",
    PH("+20 10 0123 4587"),
)

# =====================================================================================
# 3. Log lines
# =====================================================================================

T(
    DT("2024-03-14T09:12:44.118Z"),
    " INFO auth: login ok user=",
    EM("b.okeke@finlane.ng"),
    " ip=",
    IP("41.203.72.19"),
)
T(
    IP("10.0.12.5"),
    " - - [",
    DT("14/Mar/2024:09:13:02 +0000"),
    '] "GET /v1/models HTTP/1.1" 200 1843 "-" "python-requests/2.31.0"',
)
T(
    DT("Mar 14 09:15:33"),
    " gw-prod-3 sshd[2291]: Failed password for invalid user admin from ",
    IP("185.220.101.47"),
    " port 51122 ssh2",
)
T(
    "[",
    DT("2024-06-01 23:59:59,004"),
    "] WARN rate limit exceeded key_id=k_8812 client=",
    IP("2a02:8108:1b40:3e00::5c1"),
)
T(
    "level=error ts=",
    DT("2024-02-29T12:00:07+01:00"),
    ' msg="upstream timeout" upstream=',
    IP("172.16.4.21"),
    ":8443 retries=3",
)
T(
    DT("2023-12-31 18:22:10"),
    " payment failed for card ",
    CC(groups(card("4", 16), [4, 4, 4, 4], "-")),
    " (",
    PER("Ruth Abernathy"),
    ")",
)
T(
    "ERROR ",
    DT("2024-04-09T07:41:55Z"),
    " smtp: 550 mailbox unavailable <",
    EM("a.dubois@laposte.net"),
    ">",
)
T(
    DT("2024-05-20T10:11:12Z"),
    " INFO request_id=",
    uuid(),
    " model=gpt-4o tokens_in=1832 tokens_out=411 latency_ms=2380",
)
T(DT("2024-05-20T10:11:13Z"), " INFO build sha=", hexs(40), " version=3.11.7 deployed to eu-west-1")

# =====================================================================================
# 4. Code, config and secrets
# =====================================================================================

T("export GITHUB_TOKEN=", GH(ghp()), "\ngit push origin main")
tok = ghp()
T(
    "why does this fail?\n```\ngit clone ",
    DOM("https://" + tok + "@github.com/acme/infra.git"),
    "\n```",
)
RECORDS[-1]["spans"].append(
    {
        "type": "GITHUB_TOKEN",
        "start": RECORDS[-1]["text"].index(tok),
        "end": RECORDS[-1]["text"].index(tok) + len(tok),
    }
)
T(
    'token = "',
    GH("github_pat_" + rnd(ALNUM, 22) + "_" + rnd(ALNUM, 59)),
    '"  # fine-grained, repo scope',
)
T(
    "CI_JOB_TOKEN is fine but my personal one ",
    GL("glpat-" + rnd(URLSAFE, 20)),
    " keeps getting 401",
)
T(
    "SLACK_BOT_TOKEN=",
    SLK("xoxb-" + digits(12) + "-" + digits(13) + "-" + rnd(ALNUM, 24)),
    "\nSLACK_CHANNEL=#alerts",
)
T(
    "curl -X POST -H 'Content-type: application/json' --data '{\"text\":\"deploy done\"}' ",
    HOOK(
        "https://hooks.slack.com/services/T"
        + rnd(UPPERNUM, 8)
        + "/B"
        + rnd(UPPERNUM, 10)
        + "/"
        + rnd(ALNUM, 24)
    ),
)
T(
    "[default]\naws_access_key_id = ",
    AWSK(aws_id()),
    "\naws_secret_access_key = ",
    AWSS(aws_secret()),
    "\nregion = eu-central-1",
)
T(
    "boto3.client('s3', aws_access_key_id='",
    AWSK(aws_id()),
    "', aws_secret_access_key='",
    AWSS(aws_secret()),
    "')",
)
T(
    'import openai\nclient = openai.OpenAI(api_key="',
    OAI(openai_key()),
    '")\nprint(client.models.list())',
)
T("OPENAI_API_KEY=", OAI(openai_key(proj=False)), "\nMODEL=gpt-4o-mini")
T(
    "const anthropic = new Anthropic({ apiKey: '",
    ANT("sk-ant-api03-" + rnd(URLSAFE, 93) + "AA"),
    "' });",
)
T('stripe.api_key = "', STRIPE("sk_live_" + rnd(ALNUM, 99)), '"')
key = "AIza" + rnd(URLSAFE, 35)
T('<script src="', DOM("https://maps.googleapis.com/maps/api/js?key=" + key), '"></script>')
RECORDS[-1]["spans"].append(
    {
        "type": "GCP_API_KEY",
        "start": RECORDS[-1]["text"].index(key),
        "end": RECORDS[-1]["text"].index(key) + len(key),
    }
)
T("Here is my key file, why won't ssh accept it?\n", PK(pem("OPENSSH", 5)), "\n")
T("tls:\n  key: |\n    ", PK(pem("RSA", 4).replace("\n", "\n    ")), "\n  cert: ./server.crt")
T("I pasted this but it got cut off:\n", PK(pem("EC", 3, cut=True)))
T("-- private key for the test env --\n", PK(pem("", 6)))
T(
    "Authorization: Bearer ",
    JWT_(jwt({"sub": "user_8841", "role": "admin", "iat": 1717400000, "exp": 1717403600})),
)
T(
    "decode this jwt for me: ",
    JWT_(
        jwt(
            {"iss": "https://auth.kestrelpay.io", "sub": "c5f1e2", "aud": "api", "exp": 1719000000},
            alg="RS256",
        )
    ),
)
T(
    "cookie: session=",
    JWT_(jwt({"uid": 99120, "scope": ["read", "write"], "iat": 1716000000})),
    "; Path=/; HttpOnly",
)
T(
    "DATABASE_URL=postgres://app_user:",
    UPWD(rnd(ALNUM, 18)),
    "@",
    DOM("db-prod.kestrelpay.io"),
    ":5432/payments",
)
T(
    "mongodb+srv://analytics:",
    UPWD("Winter2024!x"),
    "@",
    DOM("cluster0.ab12c.mongodb.net"),
    "/reports?retryWrites=true",
)
T("redis://default:", UPWD(rnd(ALNUM, 32)), "@redis-master:6379/0")
pw = rnd(ALNUM, 16)
T(
    "pip install --index-url ",
    DOM("https://deploy:" + pw + "@pypi.internal.halvorsen-maritime.no/simple/"),
    " mypkg",
)
RECORDS[-1]["spans"].append(
    {
        "type": "URL_PASSWORD",
        "start": RECORDS[-1]["text"].index(pw),
        "end": RECORDS[-1]["text"].index(pw) + len(pw),
    }
)
T("DB_HOST=localhost\nDB_USER=root\nDB_PASSWORD=", PWD("Sommer2023!"), "\nDB_NAME=shop")
T("spring.datasource.password=", PWD(rnd(ALNUM, 14)))
T(
    '{"username": "svc-backup", "password": "',
    PWD("q7#Lm2!vR9@pXe"),
    '", "host": "',
    IP("10.2.0.8"),
    '"}',
)
T(
    "smtp:\n  host: ",
    DOM("smtp.mailgun.org"),
    "\n  user: ",
    EM("postmaster@mg.fjordline-shipping.no"),
    "\n  pwd: ",
    PWD("Fj0rd!ine#88"),
)
T("wifi at the office: network Kranich-Guest, password is ", PWD("blauerHimmel42"))
T("my password is ", PWD("Lollipop!1987"), " but it says invalid, why")
T("mysql -u admin -p", PWD("Tr0ub4dor&3"), " -h ", IP("10.8.0.14"))
T(
    "config = {\n    'api_key': '",
    ENT(rnd(ALNUM, 32)),
    "',\n    'endpoint': '",
    DOM("https://api.weatherly.io/v2"),
    "',\n}",
)
T("X-Api-Key: ", ENT(rnd(ALNUM, 40)))
T("MAILCHIMP_KEY=", ENT(hexs(32) + "-us21"))
T("client_secret: ", ENT(rnd(URLSAFE, 40)), "\nclient_id: 8812-ops-dashboard")
T("two keys, which one is prod? ", OAI(openai_key()), " or ", OAI(openai_key()))
T(
    "ssh -i ~/.ssh/id_ed25519 deploy@",
    IP("203.0.113.77"),
    " && export AWS_ACCESS_KEY_ID=",
    AWSK(aws_id()),
)
gl, dsn = "glpat-" + rnd(URLSAFE, 20), hexs(32)
T(
    "# .env\nGITLAB_TOKEN=",
    GL(gl),
    "\nSENTRY_DSN=",
    DOM("https://" + dsn + "@o4507.ingest.sentry.io/4507"),
)
RECORDS[-1]["spans"].append(
    {
        "type": "HIGH_ENTROPY",
        "start": RECORDS[-1]["text"].index(dsn),
        "end": RECORDS[-1]["text"].index(dsn) + len(dsn),
    }
)
T("Here's the failing test, the fixture uses my real key sorry: ", GH("gho_" + rnd(ALNUM, 36)))
T("kubectl create secret generic api --from-literal=password=", PWD(rnd(ALNUM + "!#%", 20)))

# =====================================================================================
# 5. Negatives: no PII, hard look-alikes
# =====================================================================================

T("Upgrading from Python 3.11.7 to 3.12.2 broke our build; numpy 1.26.4 wheels are missing.")
T("The firmware version on the router is 4.2.0.17, should I update to 4.3.1?")
T("Order #4471-2290-1183-5520 was shipped, tracking 1Z 999 AA1 01 2345 6784.")
T("Total: $1,249.99 + 19% VAT = $1,487.49. Discount code SPRING24 applied.")
T("Commit " + hexs(40) + " fixed the race condition in the scheduler.")
T("sha256: " + hexs(64) + "  dist/gatehouse-0.9.2.tar.gz")
T("request id " + uuid() + " returned 502 from the upstream")
T("Open /home/runner/work/infra/infra/terraform/modules/vpc/main.tf and change cidr_block.")
T("Solve for x: 3x^2 - 12x + 9 = 0, then compute 1234 * 5678 and 2^32 - 1 = 4294967295.")
T("Product code WX-4412-BLK-XL is out of stock; similar SKU 88-1204-77 available.")
T("The Thirty Years' War ended in 1648, and by 1806 the empire had dissolved.")
T("Set the timeout to 30000 ms and max_tokens to 4096; the context window is 128k.")
T("Why does `np.random.seed(42)` give different results on Windows vs Linux?")
T("This 16-digit ticket id " + groups(bad_card("4", 16), [4, 4, 4, 4]) + " is not a card number.")
T("Reference number: " + bad_card("5", 16) + " — please quote it in all correspondence.")
T("Shipment barcode " + groups(bad_card("6011", 16), [4, 4, 4, 4], "-") + " scanned at dock 4.")
T("Invoice " + bad_card("37", 15) + " is overdue by 14 days.")
T("Your password must be at least 12 characters and contain a digit.")
T("DB_PASSWORD=${DB_PASSWORD}\nREDIS_URL=${REDIS_URL}")
T("password: ********  (masked in the UI, don't worry)")
T(
    "      - name: Deploy\n        env:\n"
    "          TOKEN: ${{ secrets.DEPLOY_TOKEN }}\n        run: ./deploy.sh"
)
T('"integrity": "sha512-' + base64.b64encode(R.randbytes(64)).decode() + '"')
T("docker pull ", DOM("ghcr.io"), "/acme/api@sha256:" + hexs(64))
T("The function getUserAccountBalanceByIdentifier2 returns a BigDecimal.")
T("Rename src/components/PaymentFormContainerWrapper.tsx to PaymentForm.tsx please.")
T("Can you explain what a JWT is and how the signature is verified?")
T("How do I rotate an AWS access key without downtime?")
T("What's the difference between an IBAN and a SWIFT/BIC code?")
T("Write a regex that validates US phone numbers like (XXX) XXX-XXXX.")
T("Run pytest -k 'test_card and not slow' -x --maxfail=2 on the tests/ folder.")
T("Port 8080 is already in use; try 8443 or 5432 instead.")
T("Resolution 1920x1080 at 144 Hz, 27 inch, 1 ms response time.")
T("Chapter 3, verse 16; page 221, paragraph 4.")
T("We served 12,400,000 requests last quarter with a p99 of 840 ms.")
T("Coordinates for the demo dataset: matrix shape (512, 768), dtype float32.")
T("ISO 27001 and SOC 2 Type II audits are scheduled for Q3.")
T("The lease runs 24 months at 1.450 € per month, deposit three months' rent.")
T("Explain the birthday paradox for 23 people and then for 70 people.")
T("Calculate compound interest on 10000 at 4.5% for 7 years.")
T("error: could not resolve host: registry-mirror (exit code 128)")
T("Use the `--format json` flag and pipe it to jq '.items[] | .id'.")
T("Benchmark: 3.2 GHz, 16 cores, 64 GB RAM, 2 TB NVMe.")
T("Our office will be closed for the holiday; replies may be slower than usual.")
T("Translate to German: 'The quick brown fox jumps over the lazy dog.'")
T("Résumez ce texte en trois phrases, s'il vous plaît.")
T("¿Cuál es la diferencia entre 'ser' y 'estar'?")
T("Summarise the attached meeting notes and list the action items.")
T("Can you make this SQL faster? SELECT * FROM orders WHERE status = 'open' AND total > 100;")
T(ORG("Apple"), " released a new phone and sold 10 million units in the first weekend.")
T(
    "The ",
    LOC("Amazon"),
    " rainforest spans nine countries, but the ",
    LOC("Nile"),
    " is the longest river.",
)
T(PER("Paris Hilton"), "-style influencer marketing doesn't work for B2B SaaS.")
T("Build 2024.05.1 ships the new cache; version 10.0.19045.4291 of Windows is required.")
T("f(x) = 0.5 * x + 1.25, evaluated at x = 192.168 gives 97.334.")
T("Tokens like abcdefghijklmnopqrstuvwxyz123456 are placeholders in our docs.")
T("The legacy id column holds values like CUST000000123456 and ORD20240101000042.")


# =====================================================================================


def main() -> None:
    lines = []
    for n, rec in enumerate(RECORDS):
        text = rec["text"]
        for s in rec["spans"]:
            assert 0 <= s["start"] < s["end"] <= len(text), (n, s, text)
            value = text[s["start"] : s["end"]]
            assert value == value.strip(), (n, s, repr(value))
        rec["spans"].sort(key=lambda s: (s["start"], s["type"]))
        lines.append(json.dumps(rec, ensure_ascii=False))
    OUT.write_text("\n".join(lines) + "\n", encoding="utf-8")
    neg = sum(not r["spans"] for r in RECORDS)
    print(f"{len(RECORDS)} texts ({neg} without spans) -> {OUT}")


if __name__ == "__main__":
    main()
