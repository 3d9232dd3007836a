"""The secret scanner: each credential found whole, in code, JSON, URLs and quotes.

Every token is built here at run time from random characters, so the repository holds
nothing a secret scanner would flag.
"""

from __future__ import annotations

import base64
import json
import random
import string

import pytest

from gatehouse.guard.scanners.registry import build
from gatehouse.guard.scanners.secrets import SecretScanner

THRESHOLD = 0.5
scanner = SecretScanner()
rng = random.Random(20240611)
ALNUM = string.ascii_letters + string.digits
UPPER_DIGITS = string.ascii_uppercase + string.digits
URLSAFE = ALNUM + "-_"


def fake(n: int, alphabet: str = ALNUM) -> str:
    """``n`` random characters, at least one digit, one lower- and one upper-case letter
    when the alphabet has them (as real keys almost always do)."""
    while True:
        token = "".join(rng.choice(alphabet) for _ in range(n))
        wanted = [str.isdigit, str.islower, str.isupper]
        if all(any(f(c) for c in token) for f in wanted if any(f(c) for c in alphabet)):
            return token


def found(text: str, kind: str | None = None) -> list[tuple[str, str]]:
    return sorted(
        (f.type, text[f.start : f.end])
        for f in scanner.scan(text)
        if f.score >= THRESHOLD and (kind is None or f.type == kind)
    )


def b64url(obj: object) -> str:
    return base64.urlsafe_b64encode(json.dumps(obj).encode()).decode().rstrip("=")


AWS_ID = "AKIA" + fake(16, UPPER_DIGITS)
GITHUB = "ghp_" + fake(36)
GITLAB = "glpat-" + fake(20, URLSAFE)
GCP = "AIza" + fake(35, URLSAFE)
SLACK = "xoxb-" + fake(12, string.digits) + "-" + fake(24)
OPENAI = "sk-proj-" + fake(48, URLSAFE)
OPENAI_LEGACY = "sk-" + fake(48)
ANTHROPIC = "sk-ant-api03-" + fake(93, URLSAFE)
STRIPE = "sk_live_" + fake(24)
GATEHOUSE = "gh-" + fake(43, URLSAFE)


def test_registry_builds_it() -> None:
    built = build("secrets")
    assert built.name == "secrets" and built.isolated is False
    assert "HIGH_ENTROPY" in built.types and "GATEHOUSE_KEY" in built.types


@pytest.mark.parametrize(
    ("kind", "token"),
    [
        ("AWS_ACCESS_KEY", AWS_ID),
        ("GITHUB_TOKEN", GITHUB),
        ("GITHUB_TOKEN", "github_pat_" + fake(22) + "_" + fake(59)),
        ("GITLAB_TOKEN", GITLAB),
        ("GCP_API_KEY", GCP),
        ("SLACK_TOKEN", SLACK),
        ("OPENAI_API_KEY", OPENAI),
        ("OPENAI_API_KEY", OPENAI_LEGACY),
        ("ANTHROPIC_API_KEY", ANTHROPIC),
        ("STRIPE_KEY", STRIPE),
        ("GATEHOUSE_KEY", GATEHOUSE),
    ],
)
@pytest.mark.parametrize(
    "template",
    [
        "{}",
        'api_key = "{}"',
        "{{'token': '{}'}}",
        "export TOKEN={};",
        "Authorization: Bearer {}.",
        "(see {})",
    ],
)
def test_prefixed_tokens_are_covered_whole(kind: str, token: str, template: str) -> None:
    text = template.format(token)
    assert found(text) == [(kind, token)]


def test_two_secrets_back_to_back() -> None:
    for first, second in [(AWS_ID, GITHUB), (GITHUB, AWS_ID), (GITLAB, STRIPE), (GCP, OPENAI)]:
        text = f"x={first}{second}"
        assert sorted(value for _, value in found(text)) == sorted([first, second])


def test_a_longer_body_is_not_cut_short() -> None:
    token = GATEHOUSE + "x"  # 44 characters: not our key, and not half of one either
    assert found(f"key {token}", "GATEHOUSE_KEY") == []


def test_slack_webhook_is_the_whole_url() -> None:
    team, channel = fake(8, UPPER_DIGITS), fake(8, UPPER_DIGITS)
    url = f"https://hooks.slack.com/services/T{team}/B{channel}/{fake(24)}"
    assert found(f'curl -X POST "{url}"', "SLACK_WEBHOOK") == [("SLACK_WEBHOOK", url)]


def test_private_key_block_whole_and_truncated() -> None:
    body = "\n".join(fake(64, ALNUM + "+/") for _ in range(3))
    block = f"-----BEGIN RSA PRIVATE KEY-----\n{body}\n-----END RSA PRIVATE KEY-----"
    assert found(f"key:\n{block}\nthanks", "PRIVATE_KEY") == [("PRIVATE_KEY", block)]
    assert found(f"key:\n{block}\nthanks") == [("PRIVATE_KEY", block)]  # no entropy dupes
    cut = f"-----BEGIN OPENSSH PRIVATE KEY-----\n{body[:100]}"
    assert found(f"here: {cut}", "PRIVATE_KEY") == [("PRIVATE_KEY", cut)]


def test_gcp_service_account_private_key_field() -> None:
    pem = (
        "-----BEGIN PRIVATE KEY-----\\n"
        + fake(64, ALNUM + "+/")
        + "\\n-----END PRIVATE KEY-----\\n"
    )
    text = json.dumps({"type": "service_account", "private_key_id": "abc"})[:-1]
    text += f', "private_key": "{pem}"}}'
    assert found(text, "GCP_SERVICE_ACCOUNT") == [("GCP_SERVICE_ACCOUNT", pem)]


def test_jwt_needs_a_header_with_alg() -> None:
    token = f"{b64url({'alg': 'HS256', 'typ': 'JWT'})}.{b64url({'sub': '42'})}.{fake(43, URLSAFE)}"
    assert found(f"Bearer {token}", "JWT") == [("JWT", token)]
    not_jwt = f"{b64url({'kind': 'x'})}.{b64url({'sub': '42'})}.{fake(43, URLSAFE)}"
    assert found(f"Bearer {not_jwt}", "JWT") == []


def test_url_password_is_only_the_password() -> None:
    password = fake(14)
    text = f"DATABASE_URL=postgres://app:{password}@db.internal:5432/main"
    assert found(text, "URL_PASSWORD") == [("URL_PASSWORD", password)]
    assert found("redis://user:${REDIS_PASSWORD}@cache:6379", "URL_PASSWORD") == []
    assert found("see https://example.com/a:b@c", "URL_PASSWORD") == []


@pytest.mark.parametrize(
    ("text", "value"),
    [
        ('password = "correct horse 9"', "correct horse 9"),
        ('{"password": "Tr0ub4dor&3"}', "Tr0ub4dor&3"),
        ("DB_PASSWORD=s3cr3t-value", "s3cr3t-value"),
        ("pwd: hunter2", "hunter2"),
        ("my password is hunter2!", "hunter2!"),
    ],
)
def test_password_values(text: str, value: str) -> None:
    assert found(text, "PASSWORD") == [("PASSWORD", value)]


@pytest.mark.parametrize(
    "text",
    [
        "password = get_password()",
        "password: str",
        'password = ""',
        "password=${DB_PASSWORD}",
        "the password is incorrect",
        "password_hash = compute(x)",
    ],
)
def test_not_passwords(text: str) -> None:
    assert found(text, "PASSWORD") == []


def test_aws_secret_key_near_aws_words() -> None:
    secret = fake(40, ALNUM + "/+")
    text = f"aws_access_key_id={AWS_ID}\naws_secret_access_key={secret}\n"
    assert found(text) == [("AWS_ACCESS_KEY", AWS_ID), ("AWS_SECRET_KEY", secret)]


def test_azure_keys() -> None:
    account_key = base64.b64encode(bytes(rng.randrange(256) for _ in range(64))).decode()
    text = f"DefaultEndpointsProtocol=https;AccountName=x;AccountKey={account_key};"
    assert found(text, "AZURE_KEY") == [("AZURE_KEY", account_key)]
    hex_key = "".join(rng.choice("0123456789abcdef") for _ in range(32))
    assert found(f"AZURE_OPENAI_API_KEY={hex_key}", "AZURE_KEY") == [("AZURE_KEY", hex_key)]


def test_high_entropy_tokens() -> None:
    token = fake(32)
    assert found(f'client_secret: "{token}"') == [("HIGH_ENTROPY", token)]


@pytest.mark.parametrize(
    "text",
    [
        "getUserAccountSettingsHandler2 and ThisIsAVeryLongIdentifierName",
        "src/gatehouse/guard/scanners/patterns.py node_modules/typescript/lib/tsc.js",
        "request 123e4567-e89b-12d3-a456-426614174000 failed",
        "x86_64-linux-gnu-gcc-12 ENABLE_FEATURE_FLAG_V2_ROLLOUT",
        "commit 4b825dc642cb6eb9a060e54bf8d69288fbee4904",  # a digest: below threshold
    ],
)
def test_not_high_entropy(text: str) -> None:
    assert found(text) == []


def test_specific_type_wins_over_entropy_on_the_same_text() -> None:
    findings = scanner.scan(f"token {GITHUB}")
    assert [(f.type, f.start, f.end) for f in findings] == [("GITHUB_TOKEN", 6, 6 + len(GITHUB))]


def test_prose_without_secrets() -> None:
    text = (
        "Please review the pull request and check that the password reset flow sends one "
        "email, that tokens expire after 15 minutes, and that the secret rotation job is "
        "documented in the runbook."
    )
    assert found(text) == []


def test_a_token_alone_before_the_at_of_a_url_is_a_credential() -> None:
    key = "".join(rng.choice("0123456789abcdef") for _ in range(32))
    dsn = f"SENTRY_DSN=https://{key}@o4501.ingest.sentry.example/42"
    assert found(dsn) == [("URL_PASSWORD", key)]
    token = "ghp_" + fake(36)
    # A known kind there is reported once, as itself.
    assert found(f"git clone https://{token}@github.com/a/b") == [("GITHUB_TOKEN", token)]


def test_mysql_inline_password() -> None:
    password = "Tr0" + fake(6) + "&3"
    assert found(f"mysql -u admin -p{password} shop") == [("PASSWORD", password)]
    assert found("mysql -u admin -p shop") == []  # asks at the prompt


def test_subresource_integrity_hashes_are_not_secrets() -> None:
    digest = base64.b64encode(bytes(rng.getrandbits(8) for _ in range(64))).decode()
    assert found(f'"integrity": "sha512-{digest}"') == []
