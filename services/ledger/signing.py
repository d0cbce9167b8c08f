"""The ledger's Ed25519 signing key, the checkpoint statement it signs, and the witnesses' keys.

The statement is a short UTF-8 text signed and stored as exact bytes (docs/auditing.md).
"""

from __future__ import annotations

import base64
import hashlib
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field

from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey, Ed25519PublicKey

from shared.kit.ed25519 import private_key, public_key
from shared.kit.i18n import translate
from shared.kit.settings import Settings

__all__ = [
    "HANDOVER_HEADER",
    "HANDOVER_HEADER_V1",
    "STATEMENT_HEADER",
    "Consistent",
    "Handover",
    "KeyEnd",
    "LedgerKey",
    "LedgerKeys",
    "Statement",
    "cosignature_message",
    "key_id",
    "ledger_key",
    "parse_private_key",
    "parse_public_key",
    "retired_keys",
    "verify_signature",
    "witness_keys",
]

STATEMENT_HEADER = "caseline-ledger checkpoint v1"
COSIGNATURE_HEADER = "caseline-ledger cosignature v1"
HANDOVER_HEADER = "caseline-ledger key handover v2"
HANDOVER_HEADER_V1 = "caseline-ledger key handover v1"
"""The statement the release before v2 signed (no root): still read and verified, never made."""
# Derived, not random, so every development process (and test) agrees on it; its key id is
# reported as a development key, and production refuses it.
_DEVELOPMENT_SEED = hashlib.sha256(
    b"caseline DEVELOPMENT ledger signing key - publicly known - never use in production"
).digest()


def key_id(public_raw: bytes) -> str:
    """A short id of a public key: the first 8 bytes of its SHA-256, in hex."""
    return hashlib.sha256(public_raw).digest()[:8].hex()


def _raw_public(key: Ed25519PublicKey) -> bytes:
    return key.public_bytes(serialization.Encoding.Raw, serialization.PublicFormat.Raw)


@dataclass(frozen=True)
class LedgerKey:
    """The ledger's key: the private key that signs checkpoints, or only the public one."""

    public: Ed25519PublicKey
    private: Ed25519PrivateKey | None = None
    development: bool = False

    @classmethod
    def signing(cls, private: Ed25519PrivateKey, development: bool = False) -> LedgerKey:
        return cls(private.public_key(), private, development)

    @classmethod
    def verifying(cls, public_b64: str) -> LedgerKey:
        """Only the public key, as an auditor trusts it: enough to verify, not to sign."""
        return cls(parse_public_key(public_b64))

    @property
    def public_raw(self) -> bytes:
        return _raw_public(self.public)

    @property
    def key_id(self) -> str:
        return key_id(self.public_raw)

    def sign(self, message: bytes) -> bytes:
        if self.private is None:
            raise RuntimeError("this process holds only the ledger's public key: it cannot sign")
        return self.private.sign(message)

    def public_body(self) -> dict[str, object]:
        return {
            "algorithm": "Ed25519",
            "key_id": self.key_id,
            "public_key": base64.b64encode(self.public_raw).decode(),
            "development": self.development,
        }


def parse_private_key(text: str) -> Ed25519PrivateKey:
    """A PEM (PKCS #8) Ed25519 private key, or the base64 of its raw 32-byte seed."""
    return private_key(text, "CASELINE_LEDGER_SIGNING_KEY")


def ledger_key(settings: Settings) -> LedgerKey:
    """The configured signing key; the development key outside production when none is set."""
    development = Ed25519PrivateKey.from_private_bytes(_DEVELOPMENT_SEED)
    if settings.ledger_signing_key is None:
        if settings.environment == "production":
            raise RuntimeError("production needs CASELINE_LEDGER_SIGNING_KEY (an Ed25519 key)")
        return LedgerKey.signing(development, development=True)
    key = parse_private_key(settings.ledger_signing_key.get_secret_value())
    is_development = _raw_public(key.public_key()) == _raw_public(development.public_key())
    if is_development and settings.environment == "production":
        raise RuntimeError("production refuses the development ledger signing key")
    return LedgerKey.signing(key, development=is_development)


def parse_public_key(text: str) -> Ed25519PublicKey:
    """A raw 32-byte Ed25519 public key in base64."""
    return public_key(text, "a public key")


def verify_signature(public: Ed25519PublicKey, signature: bytes, message: bytes) -> bool:
    try:
        public.verify(signature, message)
    except InvalidSignature:
        return False
    return True


Consistent = Callable[[int, bytes, int, bytes], bool]
"""Whether the tree of `first` entries with root `first_root` is a prefix of the tree of `second`
entries with root `second_root`: `(first, first_root, second, second_root)`, shown by an RFC 9162
consistency proof the ledger makes from its stored tree."""


def _short(root: bytes) -> str:
    return root.hex()[:16] + "…"


@dataclass(frozen=True)
class KeyEnd:
    """The last tree size a key that no longer signs signed, and who says so: its handover to
    the key `successor`, or the configuration (`successor` is None). A handover v2 names the
    root of the tree at its size too (`last_root`, the root at `root_size`); a v1 and the
    configuration do not. `conflict`: why no checkpoint of the key is trusted at all (it was
    handed over twice, differently)."""

    last_tree_size: int
    successor: str | None = None
    last_root: bytes | None = None
    root_size: int | None = None
    conflict: str | None = None

    def earlier(self, other: KeyEnd | None) -> KeyEnd:
        """Both ends of one key at once: the lower size, the root a handover v2 names (at its
        own size), and a conflict of either."""
        if other is None:
            return self
        low = self if self.last_tree_size <= other.last_tree_size else other
        rooted = self if self.last_root is not None else other
        return KeyEnd(
            low.last_tree_size, low.successor or rooted.successor or other.successor,
            rooted.last_root, rooted.root_size, self.conflict or other.conflict,
        )  # fmt: skip


def retired_keys(settings: Settings) -> tuple[dict[str, Ed25519PublicKey], dict[str, KeyEnd]]:
    """`CASELINE_LEDGER_RETIRED_KEYS=base64[@N],…`: keys that no longer sign, by key id, and the
    last tree size the configuration gives for those whose handover could not be signed."""
    retired: dict[str, Ed25519PublicKey] = {}
    ends: dict[str, KeyEnd] = {}
    for item in settings.ledger_retired_keys.split(","):
        if not item.strip():
            continue
        text, sep, last = item.partition("@")
        public = parse_public_key(text)
        kid = key_id(_raw_public(public))
        retired[kid] = public
        if sep:
            if not (last.strip().isascii() and last.strip().isdigit()):
                raise ValueError(
                    "CASELINE_LEDGER_RETIRED_KEYS items are base64, or base64@N with N the last"
                    " tree size the key signed"
                )
            ends[kid] = KeyEnd(int(last)).earlier(ends.get(kid))
    return retired, ends


@dataclass(frozen=True)
class LedgerKeys:
    """The keys whose checkpoints verify, and where each key that no longer signs stopped.

    `retired` keys stopped signing: a checkpoint of theirs verifies only up to their end (a
    handover, or the configuration); one with no end on record verifies nowhere. `successors`
    are keys reached by handovers from an auditor's own key, bounded by their own handovers only.
    """

    current: LedgerKey
    retired: Mapping[str, Ed25519PublicKey] = field(default_factory=dict)
    ends: Mapping[str, KeyEnd] = field(default_factory=dict)
    successors: Mapping[str, Ed25519PublicKey] = field(default_factory=dict)

    def public_for(self, kid: str) -> Ed25519PublicKey | None:
        """The public key with this key id, if trusted (current, retired or a successor)."""
        if kid == self.current.key_id:
            return self.current.public
        return self.retired.get(kid) or self.successors.get(kid)

    def past_end(
        self,
        kid: str,
        tree_size: int,
        root_hash: bytes,
        consistent: Consistent | None = None,
    ) -> str | None:
        """Why key `kid` cannot have signed a checkpoint of `tree_size` entries and root
        `root_hash`, if it cannot.

        Past its end, never. Where its end names a root (a handover v2): at that size, only with
        that root; before it, only with a root `consistent` shows to be of the same tree (with
        no `consistent`, never).
        """
        end = self.ends.get(kid)
        if end is not None and end.conflict is not None:
            return end.conflict
        if end is None:
            if kid in self.retired and kid != self.current.key_id:
                return translate(
                    "signed by retired key {kid}, whose last tree size is on record nowhere (no"
                    " handover from it to a key the ledger trusts, none configured for it)",
                    kid=kid,
                )
            return None
        if tree_size > end.last_tree_size:
            if end.successor is None:
                return translate(
                    "signed by key {kid} after it stopped signing: the last tree size it signed is"
                    " {last} (CASELINE_LEDGER_RETIRED_KEYS), this checkpoint's is {size}",
                    kid=kid,
                    last=end.last_tree_size,
                    size=tree_size,
                )
            return translate(
                "signed by key {kid} after it stopped signing: the last tree size it signed is"
                " {last} (its handover to key {new_kid}), this checkpoint's is {size}",
                kid=kid,
                last=end.last_tree_size,
                new_kid=end.successor,
                size=tree_size,
            )
        last_root = end.last_root
        if last_root is None:
            return None
        root_size = end.last_tree_size if end.root_size is None else end.root_size
        if tree_size == root_size:
            if root_hash == last_root:
                return None
            return translate(
                "signed by key {kid} at tree size {size} with root {root}, which differs from the"
                " root {last_root} its handover to key {new_kid} names for that size",
                kid=kid,
                size=tree_size,
                root=_short(root_hash),
                last_root=_short(last_root),
                new_kid=end.successor,
            )
        if consistent is not None and consistent(tree_size, root_hash, root_size, last_root):
            return None
        return translate(
            "signed by key {kid} at tree size {size} with root {root}, which the ledger's tree"
            " does not show consistent with the root {last_root} its handover to key {new_kid}"
            " names at tree size {last}",
            kid=kid,
            size=tree_size,
            root=_short(root_hash),
            last_root=_short(last_root),
            new_kid=end.successor,
            last=root_size,
        )

    def public_body(self, kid: str) -> dict[str, object] | None:
        public = self.public_for(kid)
        if public is None:
            return None
        raw = _raw_public(public)
        return {"algorithm": "Ed25519", "key_id": kid, "public_key": base64.b64encode(raw).decode()}


def witness_keys(settings: Settings) -> dict[str, Ed25519PublicKey]:
    """The registered witnesses: `CASELINE_LEDGER_WITNESS_KEYS=name=base64,name=base64`."""
    registry: dict[str, Ed25519PublicKey] = {}
    for item in (settings.ledger_witness_keys or "").split(","):
        if not item.strip():
            continue
        name, sep, value = item.partition("=")
        if not sep or not name.strip():
            raise ValueError("CASELINE_LEDGER_WITNESS_KEYS items are name=base64-public-key")
        registry[name.strip()] = parse_public_key(value)
    return registry


def cosignature_message(witness: str, statement: bytes) -> bytes:
    """What a witness signs: a fixed header, its own name, then the ledger's statement bytes."""
    return f"{COSIGNATURE_HEADER}\nwitness {witness}\n".encode() + statement


@dataclass(frozen=True)
class Statement:
    """The facts a checkpoint signs."""

    tree_size: int
    root_hash: bytes
    heads_size: int
    heads_root: bytes
    signed_at: str
    key_id: str

    def encode(self) -> bytes:
        return (
            f"{STATEMENT_HEADER}\n"
            f"tree_size {self.tree_size}\n"
            f"root_hash {self.root_hash.hex()}\n"
            f"heads_size {self.heads_size}\n"
            f"heads_root {self.heads_root.hex()}\n"
            f"signed_at {self.signed_at}\n"
            f"key_id {self.key_id}\n"
        ).encode()

    @classmethod
    def decode(cls, data: bytes) -> Statement:
        lines = data.decode().split("\n")
        if len(lines) != 8 or lines[0] != STATEMENT_HEADER or lines[7] != "":
            raise ValueError("not a checkpoint statement")
        fields = dict(line.split(" ", 1) for line in lines[1:7])
        statement = cls(
            tree_size=int(fields["tree_size"]),
            root_hash=bytes.fromhex(fields["root_hash"]),
            heads_size=int(fields["heads_size"]),
            heads_root=bytes.fromhex(fields["heads_root"]),
            signed_at=fields["signed_at"],
            key_id=fields["key_id"],
        )
        if statement.encode() != data:
            raise ValueError("not a checkpoint statement in its exact form")
        return statement


@dataclass(frozen=True)
class Handover:
    """The old key's statement that the new key signs the ledger's checkpoints from now on, and
    that the old key signed none past `last_tree_size` entries (0: it signed none at all) — nor,
    at that size, any but the tree of root `last_root_hash` (v2; the empty tree's root for 0).

    Signed by the old key (whoever trusted it may follow) and by the new one (it accepts, and
    vouches for where the old key stopped). A v1 statement (no root, `last_root_hash` None) is
    still read: handovers the release before v2 recorded.
    """

    old_public: bytes
    new_public: bytes
    last_tree_size: int
    handed_over_at: str
    last_root_hash: bytes | None = None

    @property
    def old_key_id(self) -> str:
        return key_id(self.old_public)

    @property
    def new_key_id(self) -> str:
        return key_id(self.new_public)

    @property
    def version(self) -> int:
        return 1 if self.last_root_hash is None else 2

    def encode(self) -> bytes:
        header = HANDOVER_HEADER_V1 if self.last_root_hash is None else HANDOVER_HEADER
        root = (
            "" if self.last_root_hash is None else f"last_root_hash {self.last_root_hash.hex()}\n"
        )
        return (
            f"{header}\n"
            f"old_key_id {self.old_key_id}\n"
            f"old_public_key {base64.b64encode(self.old_public).decode()}\n"
            f"new_key_id {self.new_key_id}\n"
            f"new_public_key {base64.b64encode(self.new_public).decode()}\n"
            f"last_tree_size {self.last_tree_size}\n"
            f"{root}"
            f"handed_over_at {self.handed_over_at}\n"
        ).encode()

    @classmethod
    def signed(
        cls,
        old: Ed25519PrivateKey,
        new: Ed25519PrivateKey,
        last_tree_size: int,
        last_root_hash: bytes,
        at: str,
    ) -> tuple[Handover, bytes, bytes, bytes]:
        """The handover (v2) from `old` to `new`, its statement, and both keys' signatures of
        it."""
        handover = cls(
            _raw_public(old.public_key()), _raw_public(new.public_key()), last_tree_size, at,
            last_root_hash,
        )  # fmt: skip
        data = handover.encode()
        return handover, data, old.sign(data), new.sign(data)

    @classmethod
    def decode(cls, data: bytes) -> Handover:
        lines = data.decode().split("\n")
        names = ["old_key_id", "old_public_key", "new_key_id", "new_public_key", "last_tree_size",
                 "last_root_hash", "handed_over_at"]  # fmt: skip
        if lines[0] == HANDOVER_HEADER_V1:
            names.remove("last_root_hash")
        elif lines[0] != HANDOVER_HEADER:
            raise ValueError("not a key handover statement")
        if len(lines) != len(names) + 2 or lines[-1] != "":
            raise ValueError("not a key handover statement")
        fields = dict(line.split(" ", 1) for line in lines[1:-1])
        if list(fields) != names:
            raise ValueError("not a key handover statement")
        root = fields.get("last_root_hash")
        handover = cls(
            _raw_public(parse_public_key(fields["old_public_key"])),
            _raw_public(parse_public_key(fields["new_public_key"])),
            int(fields["last_tree_size"]),
            fields["handed_over_at"],
            None if root is None else bytes.fromhex(root),
        )
        if (
            handover.encode() != data
            or handover.last_tree_size < 0
            or (handover.last_root_hash is not None and len(handover.last_root_hash) != 32)
        ):
            raise ValueError("not a key handover statement in its exact form")
        return handover
