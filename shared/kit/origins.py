"""Signed origins: each service signs the envelopes it publishes with its own Ed25519 key, and every
consumer accepts an event only when a key of the service owning its type signed it and it came on
the subject of its type and case (SPEC §3).

The signature covers the RFC 8785 canonical bytes of the envelope without the two extension
attributes that carry it (`originkeyid`, `originsig`), so it survives any re-encoding of the JSON
(the ledger stores envelopes canonically). Development keys are derived from each service's name,
so every development process and test agrees on them; production refuses them.
"""

from __future__ import annotations

import base64
import functools
import hashlib
import json
import os
import threading
from collections.abc import Callable, Mapping, Sequence
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from typing import Any, TypeVar

import rfc8785
from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey, Ed25519PublicKey

from shared.events import Envelope, subject_for
from shared.events.registry import SERVICES, by_type
from shared.kit.canonical import canonical_json
from shared.kit.ed25519 import b64decode, private_key
from shared.kit.settings import Settings

__all__ = [
    "ORIGIN_KEY_ID",
    "ORIGIN_SIGNATURE",
    "OriginKeys",
    "ServiceKey",
    "development_key",
    "origin_keys",
    "origin_problem",
    "origin_problems",
    "public_keys_json",
    "service_key",
    "signed_message",
]

ORIGIN_KEY_ID = "originkeyid"
ORIGIN_SIGNATURE = "originsig"
_DEVELOPMENT_LABEL = (
    b"caseline DEVELOPMENT service signing key - publicly known - never use in production: "
)


def key_id(public_raw: bytes) -> str:
    """A short id of a public key: the first 8 bytes of its SHA-256, in hex (as the ledger's)."""
    return hashlib.sha256(public_raw).digest()[:8].hex()


def _raw(key: Ed25519PublicKey) -> bytes:
    return key.public_bytes(serialization.Encoding.Raw, serialization.PublicFormat.Raw)


def signed_message(document: Mapping[str, Any]) -> bytes:
    """What an origin signature signs: the envelope's canonical bytes, its signature left out."""
    unsigned = {k: v for k, v in document.items() if k not in (ORIGIN_KEY_ID, ORIGIN_SIGNATURE)}
    return canonical_json(unsigned)


@dataclass(frozen=True)
class ServiceKey:
    """A service's private signing key."""

    service: str
    private: Ed25519PrivateKey
    development: bool = False

    @property
    def public_raw(self) -> bytes:
        return _raw(self.private.public_key())

    @functools.cached_property
    def key_id(self) -> str:
        return key_id(self.public_raw)

    def sign(self, document: Mapping[str, Any]) -> dict[str, Any]:
        """The envelope with its origin attributes, which come last."""
        return self.sign_all([document])[0]

    def sign_all(self, documents: Sequence[Mapping[str, Any]]) -> list[dict[str, Any]]:
        """`sign` for each document; a batch of 32 or more signed on every core (signing
        releases the interpreter's lock; canonicalising, done first, does not)."""
        signatures = _on_every_core(self._sign_each, [signed_message(d) for d in documents])
        kid = self.key_id
        return [
            {**document, ORIGIN_KEY_ID: kid, ORIGIN_SIGNATURE: base64.b64encode(sig).decode()}
            for document, sig in zip(documents, signatures, strict=True)
        ]

    def _sign_each(self, messages: Sequence[bytes]) -> list[bytes]:
        return [self.private.sign(m) for m in messages]


def public_keys_json(keys: list[ServiceKey]) -> str:
    """`CASELINE_SERVICE_PUBLIC_KEYS` for these keys."""
    return json.dumps(
        OriginKeys({k.key_id: (k.service, k.private.public_key()) for k in keys}).public_body()
    )


def development_key(service: str) -> ServiceKey:
    """The publicly known key of `service` for development and tests."""
    seed = hashlib.sha256(_DEVELOPMENT_LABEL + service.encode()).digest()
    return ServiceKey(service, Ed25519PrivateKey.from_private_bytes(seed), development=True)


def _private_key(text: str) -> Ed25519PrivateKey:
    return private_key(text, "CASELINE_SERVICE_SIGNING_KEY")


def service_key(settings: Settings, service: str) -> ServiceKey:
    """The configured key of `service`; its development key outside production when none is."""
    secret = settings.service_signing_key
    text = None if secret is None else secret.get_secret_value()
    return _service_key(text, settings.environment, service)


@functools.cache
def _service_key(text: str | None, environment: str, service: str) -> ServiceKey:
    development = development_key(service)
    if text is None:
        if environment == "production":
            raise RuntimeError("production needs CASELINE_SERVICE_SIGNING_KEY (an Ed25519 key)")
        return development
    key = ServiceKey(service, _private_key(text))
    if key.public_raw in {development_key(s).public_raw for s in SERVICES}:
        if environment == "production":
            raise RuntimeError("production refuses a development service signing key")
        return ServiceKey(service, key.private, development=True)
    return key


@dataclass(frozen=True)
class OriginKeys:
    """Every service public key a verifier trusts, current and retired: key id → (service, key)."""

    keys: Mapping[str, tuple[str, Ed25519PublicKey]]
    retired: frozenset[str] = frozenset()
    """Key ids that verify history (bundles, audits) but sign nothing new: an event arriving
    signed by one, or a service token, is refused."""

    def public_body(self) -> dict[str, dict[str, str]]:
        """The keys as configured and as evidence bundles carry them."""
        return {
            kid: {"service": service, "public_key": base64.b64encode(_raw(key)).decode()}
            for kid, (service, key) in sorted(self.keys.items())
        }

    def live(self, kid: str) -> tuple[str, Ed25519PublicKey] | None:
        """The service and key of a key id that may sign now (known, not retired)."""
        return None if kid in self.retired else self.keys.get(kid)

    def problem(self, document: Mapping[str, Any], service: str) -> str | None:
        """Why `document`, arriving now, is not signed by a live key of `service`, if it is not."""
        prepared = self._prepare(document, service)
        return prepared.check() if isinstance(prepared, _Signed) else prepared

    def problems(self, arrivals: Sequence[tuple[Mapping[str, Any], str]]) -> list[str | None]:
        """`problem` for each (document, service) of a batch, the signatures of a large one
        checked on every core (the check releases the interpreter's lock). Whatever one document
        makes of the check is its own refusal, never the batch's failure."""
        prepared = [self._prepare(document, service) for document, service in arrivals]
        signed = [p for p in prepared if isinstance(p, _Signed)]
        checked = iter(_on_every_core(_check_all, signed))
        return [next(checked) if isinstance(p, _Signed) else p for p in prepared]

    def _prepare(self, document: Mapping[str, Any], service: str) -> str | _Signed | None:
        """Why `document` is refused before its signature is checked, None when its signature is
        known to verify already, or what checking it takes."""
        try:
            return self._prepared(document, service)
        except Exception as error:  # a document built to break the check refuses itself
            return f"the event's origin signature cannot be checked: {error!r:.300}"

    def _prepared(self, document: Mapping[str, Any], service: str) -> str | _Signed | None:
        kid, signature = document.get(ORIGIN_KEY_ID), document.get(ORIGIN_SIGNATURE)
        if not isinstance(kid, str) or not isinstance(signature, str):
            return "the event carries no origin signature"
        if kid in self.retired:
            return f"the event is signed by retired key {kid!r}"
        known = self.keys.get(kid)
        if known is None:
            return f"the event is signed by unknown key {kid!r}"
        if known[0] != service:
            return (
                f"the event is signed by a key of {known[0]}, not of {service}, owner of its type"
            )
        try:
            message = signed_message(document)
            seen = hashlib.sha256(
                b"\0".join((_raw(known[1]), signature.encode(), message))
            ).digest()
            if _verified.known(seen):
                return None
            raw = b64decode(signature, "originsig")
        except rfc8785.CanonicalizationError as error:  # a ValueError: first
            return f"the event has no canonical form: {error}"
        except ValueError:
            return _DOES_NOT_VERIFY
        return _Signed(known[1], raw, message, seen)


_DOES_NOT_VERIFY = "the event's origin signature does not verify"

T = TypeVar("T")
R = TypeVar("R")

PARALLEL_FROM = 32
"""A batch with at least this many signatures to make or check spreads them over the cores."""


@dataclass(frozen=True)
class _Signed:
    """A signature still to check, and what it is remembered by once it verified."""

    key: Ed25519PublicKey
    signature: bytes
    message: bytes
    seen: bytes

    def check(self) -> str | None:
        try:
            self.key.verify(self.signature, self.message)
        except (InvalidSignature, ValueError):
            return _DOES_NOT_VERIFY
        except Exception as error:  # one signature's failure is not its batch's
            return f"the event's origin signature cannot be checked: {error!r:.300}"
        _verified.add(self.seen)
        return None


def _check_all(signed: Sequence[_Signed]) -> list[str | None]:
    return [s.check() for s in signed]


_CORES = os.cpu_count() or 1


def _on_every_core(work: Callable[[Sequence[T]], list[R]], items: Sequence[T]) -> list[R]:
    """`work(items)`, a slice per core once there are `PARALLEL_FROM` items (for work that
    releases the interpreter's lock), the answers in the items' order. A slice per core, not a
    task per item: a future's hand-over costs as much as half a signature check (13,900 checks/s
    against 9,500 to 11,300 here, and less CPU)."""
    if len(items) < PARALLEL_FROM:
        return work(items)
    slices = [items[i::_CORES] for i in range(_CORES)]
    answers = list(_checkers().map(work, slices))
    return [answers[i % _CORES][i // _CORES] for i in range(len(items))]


@functools.cache
def _checkers() -> ThreadPoolExecutor:
    return ThreadPoolExecutor(max_workers=_CORES, thread_name_prefix="origin-check")


class _Verified:
    """The signatures this process has verified (at most `limit`, the oldest forgotten first), by
    the SHA-256 of key, signature and signed bytes: one event reaching two consumers of the same
    process (its reactions and its access facts) is verified once. Only successes are kept, and
    the key's service and retirement are checked before, at every arrival."""

    def __init__(self, limit: int = 4096) -> None:
        self.limit = limit
        self.seen: dict[bytes, None] = {}
        self.lock = threading.Lock()

    def known(self, digest: bytes) -> bool:
        with self.lock:
            return digest in self.seen

    def add(self, digest: bytes) -> None:
        with self.lock:
            if len(self.seen) >= self.limit:
                del self.seen[next(iter(self.seen))]
            self.seen[digest] = None


_verified = _Verified()


def parse_public_keys(text: str) -> dict[str, tuple[str, Ed25519PublicKey]]:
    """`{key_id: {"service": …, "public_key": base64}}`; each key id must be its key's."""
    return _parse(text)[0]


def _parse(text: str) -> tuple[dict[str, tuple[str, Ed25519PublicKey]], frozenset[str]]:
    """The keys, and the ids of those marked `"retired": true`."""
    if not text.strip():
        return {}, frozenset()
    document = json.loads(text)
    if not isinstance(document, dict):
        raise ValueError("CASELINE_SERVICE_PUBLIC_KEYS is a JSON object of key ids")
    keys: dict[str, tuple[str, Ed25519PublicKey]] = {}
    for kid, item in document.items():
        service, public = item.get("service"), item.get("public_key")
        if service not in SERVICES or not isinstance(public, str):
            raise ValueError(f"CASELINE_SERVICE_PUBLIC_KEYS[{kid!r}] needs a service and a key")
        raw = b64decode(public, f"CASELINE_SERVICE_PUBLIC_KEYS[{kid!r}]")
        if len(raw) != 32 or key_id(raw) != kid:
            raise ValueError(f"CASELINE_SERVICE_PUBLIC_KEYS[{kid!r}] is not that key id's key")
        keys[kid] = (service, Ed25519PublicKey.from_public_bytes(raw))
        if item.get("retired", False) not in (True, False):
            raise ValueError(f"CASELINE_SERVICE_PUBLIC_KEYS[{kid!r}].retired is true or false")
    retired = frozenset(kid for kid, item in document.items() if item.get("retired") is True)
    return keys, retired


def origin_keys(settings: Settings) -> OriginKeys:
    """The configured public keys; outside production, every development key as well."""
    return _origin_keys(settings.service_public_keys, settings.environment)


@functools.cache
def _origin_keys(text: str, environment: str) -> OriginKeys:
    keys, retired = _parse(text)
    if environment == "production":
        if not keys:
            raise RuntimeError("production needs CASELINE_SERVICE_PUBLIC_KEYS")
        # The development keys' private halves are public: an event they sign proves nothing.
        development = {development_key(s).key_id for s in SERVICES}
        if development & set(keys):
            raise RuntimeError(
                "production refuses a development key in CASELINE_SERVICE_PUBLIC_KEYS: "
                + ", ".join(sorted(development & set(keys)))
            )
        return OriginKeys(keys, retired)
    for service in SERVICES:
        dev = development_key(service)
        keys.setdefault(dev.key_id, (service, dev.private.public_key()))
    return OriginKeys(keys, retired)


def origin_problems(
    arrivals: Sequence[tuple[Mapping[str, Any], Envelope, str]], prefix: str, keys: OriginKeys
) -> list[str | None]:
    """`origin_problem` for each (document, envelope, subject) of a batch, its signatures
    checked together (`OriginKeys.problems`)."""
    found: list[str | None] = []
    pending: list[tuple[int, Mapping[str, Any], str]] = []
    for document, envelope, subject in arrivals:
        try:
            cls = by_type(envelope.type)
            expected = prefix + subject_for(cls, envelope.subject)
        except Exception as error:  # one envelope's failure is its own refusal
            found.append(f"{envelope.type} has no subject to come on: {error!r:.300}")
            continue
        if subject != expected:
            found.append(f"{envelope.type} came on subject {subject!r}, not on {expected!r}")
        else:
            found.append(None)
            pending.append((len(found) - 1, document, cls.service))
    checked = keys.problems([(document, service) for _, document, service in pending])
    for (index, _, _), problem in zip(pending, checked, strict=True):
        found[index] = problem
    return found


def origin_problem(
    document: Mapping[str, Any], envelope: Envelope, subject: str, prefix: str, keys: OriginKeys
) -> str | None:
    """Why a validated envelope did not truly come from the service owning its type, if it did
    not: it must come on exactly its type's subject of its case, signed by that service."""
    cls = by_type(envelope.type)
    expected = prefix + subject_for(cls, envelope.subject)
    if subject != expected:
        return f"{envelope.type} came on subject {subject!r}, not on {expected!r}"
    return keys.problem(document, cls.service)
