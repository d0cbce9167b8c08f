"""Tokens: HS256 in development, EdDSA or RS256 public keys in production, where a token also
needs `iat` and may live no longer than the configured maximum; every failure is a 401."""

from __future__ import annotations

import base64
import time

import jwt
import pytest
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import ed25519, rsa

from shared.kit.auth import AuthenticationError, decode_token, mint_token
from shared.kit.settings import Settings


def _claims(**overrides):
    now = int(time.time())
    claims = {"sub": "judge-2", "agency": "pole-judiciaire", "role": "judge", "iss": "caseline",
              "aud": "caseline", "iat": now, "nbf": now - 5, "exp": now + 600}  # fmt: skip
    claims.update(overrides)
    return {k: v for k, v in claims.items() if v is not None}


def _pem(public_key) -> str:
    return public_key.public_bytes(
        serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo
    ).decode()


@pytest.mark.parametrize(
    ("make_key", "alg"),
    [(ed25519.Ed25519PrivateKey.generate, "EdDSA"),
     (lambda: rsa.generate_private_key(public_exponent=65537, key_size=2048), "RS256")],
)  # fmt: skip
def test_a_token_signed_by_the_identity_provider_is_accepted_with_its_public_key(make_key, alg):
    key = make_key()
    settings = Settings(jwt_public_key=_pem(key.public_key()))

    user = decode_token(jwt.encode(_claims(), key, algorithm=alg), settings)

    assert (user.sub, user.agency, user.role) == ("judge-2", "pole-judiciaire", "judge")


def test_with_a_public_key_configured_an_hs256_token_is_refused():
    key = ed25519.Ed25519PrivateKey.generate()
    settings = Settings(jwt_public_key=_pem(key.public_key()))

    with pytest.raises(AuthenticationError):
        decode_token(
            jwt.encode(_claims(), "a-shared-secret-0123456789abcdef", algorithm="HS256"), settings
        )


@pytest.mark.parametrize(
    "claims",
    [_claims(exp=int(time.time()) - 60), _claims(nbf=int(time.time()) + 3600), _claims(iss="elsewhere"),
     _claims(aud="another-system"), _claims(sub=None), _claims(agency=None), _claims(role="visitor"),
     _claims(exp=None)],
    ids=["expired", "not-yet-valid", "wrong-issuer", "wrong-audience", "no-sub", "no-agency",
         "unknown-role", "no-exp"],
)  # fmt: skip
def test_a_token_failing_any_check_is_refused(claims):
    settings = Settings(jwt_secret="a-shared-secret-0123456789abcdef")

    with pytest.raises(AuthenticationError) as refused:
        decode_token(
            jwt.encode(claims, "a-shared-secret-0123456789abcdef", algorithm="HS256"), settings
        )

    assert refused.value.detail == "a valid bearer token is required"


def test_a_minted_development_token_round_trips():
    settings = Settings()

    user = decode_token(
        mint_token(settings, sub="r1", agency="mca-bamako", role="prison_registry"), settings
    )

    assert user.role == "prison_registry"


def test_production_refuses_the_development_secret():
    with pytest.raises(ValueError, match="production"):
        Settings(environment="production")


PRODUCTION_SECRET = "a-production-secret-of-32-bytes!"


def _production(**overrides):
    master_key = "AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA="
    fields = {
        "environment": "production",
        "jwt_secret": PRODUCTION_SECRET,
        "master_key": master_key,
    }
    return Settings(**{**fields, **overrides})


def _signed(claims):
    return jwt.encode(claims, PRODUCTION_SECRET, algorithm="HS256")


def test_production_accepts_a_token_living_up_to_the_maximum():
    now = int(time.time())

    user = decode_token(_signed(_claims(iat=now, exp=now + 720 * 60)), _production())

    assert user.sub == "judge-2"


def test_production_refuses_a_token_living_longer_than_the_maximum():
    now = int(time.time())

    with pytest.raises(AuthenticationError):
        decode_token(_signed(_claims(iat=now, exp=now + 720 * 60 + 1)), _production())


def test_the_maximum_lifetime_is_configured():
    now = int(time.time())
    token = _signed(_claims(iat=now, exp=now + 61 * 60))

    with pytest.raises(AuthenticationError):
        decode_token(token, _production(jwt_max_ttl_minutes=60))
    assert decode_token(token, _production(jwt_max_ttl_minutes=61)).role == "judge"


def test_production_refuses_a_token_without_an_issue_time():
    with pytest.raises(AuthenticationError):
        decode_token(_signed(_claims(iat=None)), _production())


def test_production_refuses_a_long_lived_token_of_the_identity_provider():
    key = ed25519.Ed25519PrivateKey.generate()
    settings = _production(jwt_secret=None, jwt_public_key=_pem(key.public_key()))
    now = int(time.time())

    with pytest.raises(AuthenticationError):
        decode_token(
            jwt.encode(_claims(iat=now, exp=now + 30 * 24 * 3600), key, algorithm="EdDSA"),
            settings,
        )


def test_outside_production_a_token_is_not_held_to_the_maximum():
    now = int(time.time())
    settings = Settings(jwt_secret=PRODUCTION_SECRET)

    user = decode_token(_signed(_claims(iat=None, exp=now + 30 * 24 * 3600)), settings)

    assert user.role == "judge"


def test_the_token_issuers_key_signs_and_its_raw_public_key_alone_verifies():
    issuer = ed25519.Ed25519PrivateKey.generate()
    raw = issuer.public_key().public_bytes(
        serialization.Encoding.Raw, serialization.PublicFormat.Raw
    )
    private = issuer.private_bytes(
        serialization.Encoding.Raw, serialization.PrivateFormat.Raw, serialization.NoEncryption()
    )
    minting = Settings(token_signing_key=base64.b64encode(private).decode())
    verifying = Settings(jwt_public_key=base64.b64encode(raw).decode())

    token = mint_token(minting, sub="judge-2", agency="pole", role="judge")

    assert jwt.get_unverified_header(token)["alg"] == "EdDSA"
    assert decode_token(token, verifying).role == "judge"
    with pytest.raises(AuthenticationError):  # what the shared secret mints is refused
        decode_token(mint_token(Settings(), sub="x", agency="x", role="judge"), verifying)


def test_a_public_key_that_is_neither_pem_nor_a_raw_ed25519_key_is_refused_at_start():
    with pytest.raises(ValueError, match="a raw Ed25519 public key has 32 bytes"):
        Settings(jwt_public_key=base64.b64encode(b"short").decode())
    with pytest.raises(ValueError, match="is not base64"):
        Settings(jwt_public_key="not a key!")


def test_a_remembered_token_is_refused_once_it_has_expired(monkeypatch):
    settings = Settings(jwt_secret="s" * 32)
    expires = int(time.time()) + 60
    token = jwt.encode(_claims(exp=expires), "s" * 32, algorithm="HS256")
    assert decode_token(token, settings).sub == "judge-2"
    assert decode_token(token, settings).sub == "judge-2"  # remembered
    monkeypatch.setattr(time, "time", lambda: expires + 6.0)
    with pytest.raises(AuthenticationError):
        decode_token(token, settings)


def test_a_remembered_token_is_checked_afresh_under_another_key_or_audience():
    token = jwt.encode(_claims(), "s" * 32, algorithm="HS256")
    assert decode_token(token, Settings(jwt_secret="s" * 32)).role == "judge"
    with pytest.raises(AuthenticationError):
        decode_token(token, Settings(jwt_secret="t" * 32))
    with pytest.raises(AuthenticationError):
        decode_token(token, Settings(jwt_secret="s" * 32, jwt_audience="elsewhere"))


def test_a_token_altered_after_one_was_remembered_is_refused():
    settings = Settings(jwt_secret="s" * 32)
    token = jwt.encode(_claims(), "s" * 32, algorithm="HS256")
    decode_token(token, settings)
    header, payload, signature = token.split(".")
    forged = jwt.encode(_claims(role="admin"), "x" * 32, algorithm="HS256").split(".")[1]
    for altered in (f"{header}.{forged}.{signature}", f"{header}.{payload}.{signature[:-2]}AA"):
        with pytest.raises(AuthenticationError):
            decode_token(altered, settings)
