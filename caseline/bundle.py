"""The offline verifier of evidence bundles and RFC 9162 proofs: no server, no database.

Self-contained on purpose (standard library, `cryptography` and `rfc8785` only), sharing no code
with the ledger it checks; entry bytes are hashed exactly as carried, and each entry's event must be
signed by a key of the service owning its type (SPEC §3), among the service keys the bundle carries
— and, when the verifier gives the service keys it trusts, among those (the bundle's list is signed
by nothing: whoever held a ledger key, even a retired one, could bring keys of their own).
"""

from __future__ import annotations

import base64
import binascii
import hashlib
import json
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import rfc8785
from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PublicKey

__all__ = [
    "BUNDLE_FORMAT",
    "COSIGNATURE_HEADER",
    "BundleError",
    "BundleReport",
    "Checkpoint",
    "Consistent",
    "KeyHandover",
    "follow_handovers",
    "handover_ends",
    "parse_statement",
    "past_handover",
    "public_key",
    "signed_by",
    "verify_bundle",
    "verify_consistency",
    "verify_inclusion",
]

BUNDLE_FORMAT = "caseline-evidence-bundle/1"
STATEMENT_HEADER = "caseline-ledger checkpoint v1"
COSIGNATURE_HEADER = "caseline-ledger cosignature v1"
HANDOVER_HEADER = "caseline-ledger key handover v2"
HANDOVER_HEADER_V1 = "caseline-ledger key handover v1"
GENESIS = bytes(32)


Translate = Callable[..., str]
Consistent = Callable[[int, bytes, int, bytes], bool]
"""`(first, first_root, second, second_root)`: whether the tree of `first` entries with that root
is a prefix of the tree of `second` entries with that one (a consistency proof checked)."""


def english(msgid: str, /, **params: object) -> str:
    """A message in English, its placeholders filled (the CLI passes its translator instead)."""
    return msgid.format(**params) if params else msgid


class BundleError(ValueError):
    """The bundle fails; `seq` is the first bad entry's position in the case, when there is one.

    `reason` is a message with named placeholders (`params`): `say(_)` gives it in the language of
    `_` (a BundleError among the params is said in it too), `str()` in English."""

    def __init__(
        self,
        reason: str,
        seq: int | None = None,
        ledger_seq: int | None = None,
        /,
        **params: object,
    ) -> None:
        self.template, self.params = reason, params
        self.reason = self.say()
        super().__init__(self.reason)
        self.seq = seq
        self.ledger_seq = ledger_seq

    def say(self, translate: Translate = english) -> str:
        values = {
            k: v.say(translate) if isinstance(v, BundleError) else v for k, v in self.params.items()
        }
        return translate(self.template, **values)


def _leaf(data: bytes) -> bytes:
    return hashlib.sha256(b"\x00" + data).digest()


def _node(left: bytes, right: bytes) -> bytes:
    return hashlib.sha256(b"\x01" + left + right).digest()


def verify_inclusion(
    index: int, size: int, leaf: bytes, path: Sequence[bytes], root: bytes
) -> bool:
    """RFC 9162 §2.1.3.2 for the leaf hash at `index` in a tree of `size` leaves."""
    if index >= size:
        return False
    fn, sn, r = index, size - 1, leaf
    for p in path:
        if sn == 0:
            return False
        if fn & 1 or fn == sn:
            r = _node(p, r)
            while not fn & 1 and fn:
                fn, sn = fn >> 1, sn >> 1
        else:
            r = _node(r, p)
        fn, sn = fn >> 1, sn >> 1
    return sn == 0 and r == root


def verify_consistency(
    first: int, second: int, first_root: bytes, second_root: bytes, proof: Sequence[bytes]
) -> bool:
    """RFC 9162 §2.1.4.2: the tree of `second` leaves extends the tree of `first` leaves."""
    if first == second:
        return not proof and first_root == second_root
    if not 0 < first < second or not proof:
        return False
    path = list(proof)
    if first & (first - 1) == 0:  # a power of two: the old root is the first node
        path.insert(0, first_root)
    fn, sn = first - 1, second - 1
    while fn & 1:
        fn, sn = fn >> 1, sn >> 1
    fr = sr = path[0]
    for c in path[1:]:
        if sn == 0:
            return False
        if fn & 1 or fn == sn:
            fr, sr = _node(c, fr), _node(c, sr)
            while not fn & 1 and fn:
                fn, sn = fn >> 1, sn >> 1
        else:
            sr = _node(sr, c)
        fn, sn = fn >> 1, sn >> 1
    return sn == 0 and fr == first_root and sr == second_root


@dataclass(frozen=True)
class Checkpoint:
    """The facts of a signed checkpoint statement."""

    tree_size: int
    root_hash: bytes
    heads_size: int
    heads_root: bytes
    signed_at: str
    key_id: str


def parse_statement(data: bytes) -> Checkpoint:
    """A checkpoint statement's fields; it must be exactly in the documented form."""
    lines = data.decode("utf-8").split("\n")
    names = ["tree_size", "root_hash", "heads_size", "heads_root", "signed_at", "key_id"]
    if len(lines) != 8 or lines[0] != STATEMENT_HEADER or lines[7] != "":
        raise BundleError("the checkpoint statement is malformed")
    values = {}
    for name, line in zip(names, lines[1:7], strict=True):
        label, _, value = line.partition(" ")
        if label != name or not value:
            raise BundleError("the checkpoint statement is malformed")
        values[name] = value
    try:
        return Checkpoint(
            int(values["tree_size"]), bytes.fromhex(values["root_hash"]),
            int(values["heads_size"]), bytes.fromhex(values["heads_root"]),
            values["signed_at"], values["key_id"],
        )  # fmt: skip
    except ValueError:
        raise BundleError("the checkpoint statement is malformed") from None


def signed_by(public: Ed25519PublicKey, signature: bytes, message: bytes) -> bool:
    try:
        public.verify(signature, message)
    except InvalidSignature:
        return False
    return True


def public_key(b64: str) -> tuple[Ed25519PublicKey, str]:
    """A raw Ed25519 public key in base64, and its key id (first 8 bytes of SHA-256, hex)."""
    raw = _b64(b64)
    if len(raw) != 32:
        raise BundleError("a public key must have 32 bytes")
    return Ed25519PublicKey.from_public_bytes(raw), hashlib.sha256(raw).digest()[:8].hex()


@dataclass(frozen=True)
class KeyHandover:
    """A key handover whose two signatures hold: the old key signed up to `last_tree_size`, and
    at that size the tree of root `last_root_hash` (a v2; None for a v1, which names no root)."""

    old_kid: str
    new_kid: str
    last_tree_size: int
    last_root_hash: bytes | None = None

    def agrees(self, other: KeyHandover) -> bool:
        """Whether two handovers of one key can both be genuine: a key is handed over once, to
        one key, after one tree size, so only its v1 and the v2 that upgrades it (the same new
        key and size, one root at most) may stand side by side."""
        roots = {r for r in (self.last_root_hash, other.last_root_hash) if r is not None}
        return (self.new_kid, self.last_tree_size) == (other.new_kid, other.last_tree_size) and (
            len(roots) <= 1
        )

    def stricter(self, other: KeyHandover | None) -> KeyHandover:
        """Of two handovers of one key that agree, the one naming a root (the v2)."""
        if other is None:
            return self
        return other if self.last_root_hash is None and other.last_root_hash is not None else self


_HANDOVER_FIELDS = ["old_key_id", "old_public_key", "new_key_id", "new_public_key",
                    "last_tree_size", "last_root_hash", "handed_over_at"]  # fmt: skip


def _handover(item: Any) -> KeyHandover:
    """A key handover (as served and carried, v2 or v1) signed by both keys."""
    if not isinstance(item, dict):
        raise BundleError("a key handover is malformed")
    statement = _b64(item.get("statement"))
    try:
        lines = statement.decode("utf-8").split("\n")
    except UnicodeDecodeError:
        raise BundleError("a key handover statement is malformed") from None
    names = [n for n in _HANDOVER_FIELDS if lines[0] == HANDOVER_HEADER or n != "last_root_hash"]
    if lines[0] not in (HANDOVER_HEADER, HANDOVER_HEADER_V1) or len(lines) != len(names) + 2 or (
        lines[-1] != ""
    ):  # fmt: skip
        raise BundleError("a key handover statement is malformed")
    values = {}
    for name, line in zip(names, lines[1:-1], strict=True):
        label, _, value = line.partition(" ")
        if label != name or not value:
            raise BundleError("a key handover statement is malformed")
        values[name] = value
    last = values["last_tree_size"]
    if not (last.isascii() and last.isdigit()) or str(int(last)) != last:
        raise BundleError("a key handover statement is malformed")
    root = None
    if "last_root_hash" in values:
        root = _hex(values["last_root_hash"])
        if len(root) != 32:
            raise BundleError("a key handover statement is malformed")
    old, old_kid = public_key(values["old_public_key"])
    new, new_kid = public_key(values["new_public_key"])
    if (old_kid, new_kid) != (values["old_key_id"], values["new_key_id"]) or (
        old_kid, new_kid) != (item.get("old_key_id"), item.get("new_key_id")):  # fmt: skip
        raise BundleError(
            "the key handover to key {kid} names other keys than its own", kid=new_kid
        )
    if not signed_by(old, _b64(item.get("old_signature")), statement):
        raise BundleError("the key handover from key {kid} is not signed by that key", kid=old_kid)
    if not signed_by(new, _b64(item.get("new_signature")), statement):
        raise BundleError("the key handover to key {kid} is not signed by that key", kid=new_kid)
    return KeyHandover(old_kid, new_kid, int(last), root)


def _path(start: str, target: str, handovers: Sequence[KeyHandover]) -> list[str] | None:
    """The key ids from `start` to `target` through handovers, oldest first, if any lead there."""
    successors: dict[str, list[str]] = {}
    for step in handovers:
        successors.setdefault(step.old_kid, []).append(step.new_kid)
    paths = {start: [start]}
    frontier = [start]
    while frontier:
        kid = frontier.pop(0)
        if kid == target:
            return paths[kid]
        for nxt in successors.get(kid, []):
            if nxt not in paths:
                paths[nxt] = [*paths[kid], nxt]
                frontier.append(nxt)
    return None


def follow_handovers(trusted: str, target_kid: str, handovers: Sequence[Any]) -> list[str]:
    """The key ids from the `trusted` key (base64) to `target_kid`, each step a handover signed by
    the key before it and the key after; a BundleError when none leads there."""
    start = public_key(trusted)[1]
    path = _path(start, target_kid, [_handover(item) for item in handovers])
    if path is None:
        raise BundleError(
            "signed by key {kid}, not by the key you trust ({trusted}), and no handover"
            " signed by the key you trust leads to it",
            kid=target_kid,
            trusted=start,
        )
    return path


def handover_ends(handovers: Sequence[Any]) -> dict[str, KeyHandover]:
    """For each key that handed over, its handover: the v2 where its v1 is shown beside it. A key
    hands over once; two handovers of one key that disagree (another new key, another size,
    another root), each signed by both its keys, show that its private key left the ledger's
    hands: a BundleError, whatever else the bundle holds."""
    ends: dict[str, KeyHandover] = {}
    for step in (_handover(item) for item in handovers):
        held = ends.get(step.old_kid)
        if held is not None and not held.agrees(step):
            raise BundleError(
                "key {kid} is handed over twice, differently (to key {one} after {one_size}"
                " entries, to key {other} after {other_size}, or to other roots): a key is handed"
                " over once, so its private key was used by someone else, and nothing it signed"
                " can be trusted",
                kid=step.old_kid,
                one=held.new_kid,
                one_size=held.last_tree_size,
                other=step.new_kid,
                other_size=step.last_tree_size,
            )
        ends[step.old_kid] = step.stricter(held)
    return ends


def _short(root: bytes) -> str:
    return root.hex()[:16] + "…"


def past_handover(
    checkpoint: Checkpoint,
    ends: Mapping[str, KeyHandover],
    consistent: Consistent | None = None,
) -> BundleError | None:
    """Why the checkpoint's key cannot have signed it, if so: past that key's handover; or, where
    the handover names the root at its last tree size (v2), at that size with another root, or
    before it with a root `consistent` does not show to be of that tree (with no `consistent`,
    as offline: a bundle the ledger exports is against its latest checkpoint, so never)."""
    end = ends.get(checkpoint.key_id)
    if end is None:
        return None
    if checkpoint.tree_size > end.last_tree_size:
        return BundleError(
            "checkpoint {size} is signed by key {kid} after it stopped signing: the last tree size"
            " it signed is {last} (its handover to key {new_kid}), this checkpoint's is {size}",
            size=checkpoint.tree_size,
            kid=checkpoint.key_id,
            last=end.last_tree_size,
            new_kid=end.new_kid,
        )
    last_root = end.last_root_hash
    if last_root is None:
        return None
    if checkpoint.tree_size == end.last_tree_size:
        if checkpoint.root_hash == last_root:
            return None
        return BundleError(
            "checkpoint {size} is signed by key {kid} with root {root}, which differs from the"
            " root {last_root} its handover to key {new_kid} names for tree size {size}",
            size=checkpoint.tree_size,
            kid=checkpoint.key_id,
            root=_short(checkpoint.root_hash),
            last_root=_short(last_root),
            new_kid=end.new_kid,
        )
    if consistent is None:
        return BundleError(
            "checkpoint {size} is signed by key {kid} at tree size {size}, before the last it"
            " signed ({last}), for which its handover to key {new_kid} names root {last_root}:"
            " offline, nothing shows this checkpoint's root {root} is of that tree. The ledger"
            " exports against its latest checkpoint: export the bundle again",
            size=checkpoint.tree_size,
            kid=checkpoint.key_id,
            last=end.last_tree_size,
            new_kid=end.new_kid,
            last_root=_short(last_root),
            root=_short(checkpoint.root_hash),
        )
    if consistent(checkpoint.tree_size, checkpoint.root_hash, end.last_tree_size, last_root):
        return None
    return BundleError(
        "checkpoint {size} is signed by key {kid} with root {root}, which is not consistent with"
        " the root {last_root} its handover to key {new_kid} names at tree size {last}",
        size=checkpoint.tree_size,
        kid=checkpoint.key_id,
        root=_short(checkpoint.root_hash),
        last_root=_short(last_root),
        new_kid=end.new_kid,
        last=end.last_tree_size,
    )


def _b64(value: Any) -> bytes:
    if not isinstance(value, str):
        raise BundleError("a base64 field is not a string")
    try:
        data = base64.b64decode(value, validate=True)
    except (binascii.Error, ValueError):
        raise BundleError("a base64 field is not valid base64") from None
    # Only the one form the ledger writes: unused trailing bits could otherwise be changed.
    if base64.b64encode(data).decode() != value:
        raise BundleError("a base64 field is not in its canonical form")
    return data


def _hex(value: Any) -> bytes:
    """Lower-case hex only, as the ledger writes it."""
    try:
        data = bytes.fromhex(value)
    except (TypeError, ValueError):
        raise BundleError("a hash is not hex") from None
    if data.hex() != value:
        raise BundleError("a hash is not in lower-case hex")
    return data


def _hexes(values: Any) -> list[bytes]:
    if not isinstance(values, list):
        raise BundleError("a proof is not a list")
    return [_hex(v) for v in values]


@dataclass
class BundleReport:
    """What `caseline verify-bundle` prints."""

    ok: bool = False
    case_id: str | None = None
    events: int = 0
    first_time: str | None = None
    last_time: str | None = None
    checkpoint: Checkpoint | None = None
    cosigners: list[BundleError] = field(default_factory=list)  # each a message, not a failure
    handed_over: list[str] = field(default_factory=list)
    trusted_is_newer: bool = False
    # Keys whose end the bundle shows by a handover v1 only: bounded by tree size, not by root.
    rootless_ends: list[str] = field(default_factory=list)
    service_keys_pinned: bool = False
    first_bad_seq: int | None = None
    first_bad_ledger_seq: int | None = None
    failure: BundleError | None = None

    @property
    def reason(self) -> str | None:
        return None if self.failure is None else self.failure.reason

    def lines(self, _: Translate = english) -> list[str]:
        """The report, in the language of `_` (the CLI's translator; English by default)."""
        rows = [(_("events:"), str(self.events))]
        if self.first_time:
            rows[0] = (
                rows[0][0],
                _("{events} ({first} … {last})", events=self.events, first=self.first_time,
                  last=self.last_time),
            )  # fmt: skip
        if self.checkpoint is not None:
            cp = self.checkpoint
            rows.append((
                _("checkpoint:"),
                _("{size} ledger entries, root {root}…, signed {signed_at} by key {kid}",
                  size=cp.tree_size, root=cp.root_hash.hex()[:16], signed_at=cp.signed_at,
                  kid=cp.key_id),
            ))  # fmt: skip
        if self.handed_over:
            path = " → ".join(self.handed_over)
            rows.append((
                _("key:"),
                _("handed over {path} (to the key you trust)", path=path)
                if self.trusted_is_newer
                else _("handed over {path} (from the key you trust)", path=path),
            ))  # fmt: skip
        rows += [
            (_("note:"), _("handover v1: the root where key {kid} stopped is not on record",
                           kid=kid))
            for kid in self.rootless_ends
        ]  # fmt: skip
        if self.cosigners:
            rows.append((_("cosigned by:"), ", ".join(c.say(_) for c in self.cosigners)))
        if self.events:
            rows.append((
                _("signed by:"),
                _("services' keys you trust")
                if self.service_keys_pinned
                else _("services' keys the bundle carries (not checked against keys you trust)"),
            ))  # fmt: skip
        if self.ok:
            result = _("OK — authentic, complete, in order, and in the signed tree")
        else:
            reason = "" if self.failure is None else self.failure.say(_)
            if self.first_bad_seq is None:
                result = _("FAILED: {reason}", reason=reason)
            elif self.first_bad_ledger_seq is None:
                result = _("FAILED at entry {seq} of the case: {reason}", seq=self.first_bad_seq,
                           reason=reason)  # fmt: skip
            else:
                result = _(
                    "FAILED at entry {seq} of the case (ledger entry {ledger_seq}): {reason}",
                    seq=self.first_bad_seq, ledger_seq=self.first_bad_ledger_seq, reason=reason,
                )  # fmt: skip
        rows.append((_("result:"), result))
        # The values line up: after the longest label of the language (English's is 12 long).
        width = max(13, *(len(label) + 1 for label, _value in rows))
        head = _("Evidence bundle of case {case_id}", case_id=self.case_id or "?")
        return [head, *(f"  {label:<{width}}{value}" for label, value in rows)]


def verify_bundle(
    raw: bytes,
    *,
    trusted_key: str | None = None,
    witness_keys: Mapping[str, str] | None = None,
    service_keys: Mapping[str, tuple[str, Ed25519PublicKey]] | None = None,
) -> BundleReport:
    """Verify a bundle file's bytes; `trusted_key` pins the ledger's key (base64), if known, and
    `service_keys` the services' (key id → (service, key), as `CASELINE_SERVICE_PUBLIC_KEYS`
    lists them): the bundle's own list of service keys is signed by nothing, so without them an
    entry's origin is checked against keys that came with the bundle."""
    report = BundleReport()
    try:
        _verify(raw, report, trusted_key, witness_keys or {}, service_keys)
        report.ok = True
    except BundleError as exc:
        report.failure, report.first_bad_seq, report.first_bad_ledger_seq = (
            exc,
            exc.seq,
            exc.ledger_seq,
        )
    except (KeyError, TypeError, AttributeError, ValueError) as exc:
        report.failure = BundleError(
            "the bundle is not in the documented form ({error})",
            error=f"{type(exc).__name__}: {exc}",
        )
    return report


def verify_bundle_file(path: Path, **kwargs: Any) -> BundleReport:
    return verify_bundle(Path(path).read_bytes(), **kwargs)


def _verify(
    raw: bytes,
    report: BundleReport,
    trusted_key: str | None,
    witness_keys: Mapping[str, str],
    pinned: Mapping[str, tuple[str, Ed25519PublicKey]] | None = None,
) -> None:
    try:
        bundle = json.loads(raw)
    except (ValueError, UnicodeDecodeError):
        raise BundleError("the file is not JSON") from None
    if not isinstance(bundle, dict) or bundle.get("format") != BUNDLE_FORMAT:
        raise BundleError("not a {format} file", format=BUNDLE_FORMAT)
    report.case_id = str(bundle.get("case_id"))
    exact = json.dumps(bundle, sort_keys=True, separators=(",", ":"), ensure_ascii=True) + "\n"
    if exact.encode() != raw:
        raise BundleError("the file is not byte for byte as exported: it was edited")
    checkpoint = _verify_checkpoint(bundle, report, trusted_key, witness_keys)
    services = _service_keys(bundle)
    if pinned is not None:
        services = _trusted_only(services, pinned)
        report.service_keys_pinned = True
    last, unproven = _verify_entries(bundle, report, checkpoint, services)
    signers = {entry_event(e).get("originkeyid") for e in bundle["entries"]}
    if set(services) - signers:
        raise BundleError("the bundle carries a service key that signed none of its entries")
    _verify_head(bundle, checkpoint, last, report.events)
    if unproven is not None:
        raise BundleError(
            "the entry cannot be proven in the signed tree: the ledger's tree lacked nodes of"
            " its path when it was exported",
            *unproven,
        )


def _verify_checkpoint(
    bundle: dict[str, Any],
    report: BundleReport,
    trusted_key: str | None,
    witness_keys: Mapping[str, str],
) -> Checkpoint:
    key_info = bundle["public_key"]
    public, kid = public_key(key_info["public_key"])
    if key_info.get("algorithm") != "Ed25519" or key_info.get("key_id") != kid:
        raise BundleError("the bundle's public key does not match its key id")
    handovers = bundle.get("key_handovers", [])
    if not isinstance(handovers, list):
        raise BundleError("the bundle's key handovers are malformed")
    steps = [_handover(item) for item in handovers]
    if trusted_key is not None:
        _reach(report, public_key(trusted_key)[1], kid, steps)
    statement = _b64(bundle["checkpoint"]["statement"])
    checkpoint = parse_statement(statement)
    report.checkpoint = checkpoint
    if checkpoint.key_id != kid:
        raise BundleError("the checkpoint names another key than the bundle's")
    if not signed_by(public, _b64(bundle["checkpoint"]["signature"]), statement):
        raise BundleError("the checkpoint's signature does not verify: the checkpoint was replaced")
    ends = handover_ends(handovers)
    report.rootless_ends = [kid for kid, end in ends.items() if end.last_root_hash is None]
    past = past_handover(checkpoint, ends)
    if past:
        raise BundleError("the bundle's {reason}", reason=past)
    for cosig in bundle["cosignatures"]:
        name = cosig["witness"]
        given = witness_keys.get(name, cosig.get("public_key"))
        if given is None:
            report.cosigners.append(
                BundleError("{name} (not checked: its key is not known)", name=name)
            )
            continue
        witness_key, witness_kid = public_key(given)
        message = f"{COSIGNATURE_HEADER}\nwitness {name}\n".encode() + statement
        if witness_kid != cosig["key_id"] or not signed_by(
            witness_key, _b64(cosig["signature"]), message
        ):
            raise BundleError("witness {name}'s cosignature does not verify", name=name)
        report.cosigners.append(
            BundleError("{name} (key {kid}, key you gave)", name=name, kid=witness_kid)
            if name in witness_keys
            else BundleError("{name} (key {kid}, key in the bundle)", name=name, kid=witness_kid)
        )
    missing = set(witness_keys) - {c["witness"] for c in bundle["cosignatures"]}
    if missing:
        raise BundleError("no cosignature from {witnesses}", witnesses=", ".join(sorted(missing)))
    return checkpoint


def _reach(report: BundleReport, trusted: str, kid: str, steps: Sequence[KeyHandover]) -> None:
    """The bundle's key is the trusted key, or handovers link the two: from the trusted key to
    it (it took over later), or from it to the trusted key (it signed before, and each key after
    it signed where it stopped)."""
    if trusted == kid:
        return
    forward = _path(trusted, kid, steps)
    if forward is not None:
        report.handed_over = forward
        return
    backward = _path(kid, trusted, steps)
    if backward is None:
        raise BundleError(
            "the bundle is signed by key {kid}, not by the key you trust ({trusted}), and no"
            " handover signed by the key you trust leads to it or from it",
            kid=kid,
            trusted=trusted,
        )
    report.handed_over, report.trusted_is_newer = backward, True


def _service_keys(bundle: dict[str, Any]) -> dict[str, tuple[str, Ed25519PublicKey]]:
    """The services' public keys the bundle carries: key id → (service, key)."""
    keys = bundle.get("service_keys")
    if not isinstance(keys, dict):
        raise BundleError("the bundle carries no service keys: no entry's origin can be checked")
    out: dict[str, tuple[str, Ed25519PublicKey]] = {}
    for kid, item in keys.items():
        public, actual = public_key(item["public_key"])
        if actual != kid or not isinstance(item.get("service"), str):
            raise BundleError("service key {kid} does not match its key id", kid=kid)
        out[kid] = (item["service"], public)
    return out


def _trusted_only(
    carried: Mapping[str, tuple[str, Ed25519PublicKey]],
    trusted: Mapping[str, tuple[str, Ed25519PublicKey]],
) -> dict[str, tuple[str, Ed25519PublicKey]]:
    """The bundle's service keys, each one of those the verifier trusts (same service, same key):
    whoever holds a ledger key, even one retired, could otherwise bring keys of their own."""
    for kid, (service, key) in carried.items():
        known = trusted.get(kid)
        if known is None or known[0] != service or _raw_key(known[1]) != _raw_key(key):
            raise BundleError(
                "the bundle carries service key {kid} ({service}), which is not among the"
                " service keys you trust",
                kid=kid,
                service=service,
            )
    return dict(carried)


def _raw_key(key: Ed25519PublicKey) -> bytes:
    return key.public_bytes(serialization.Encoding.Raw, serialization.PublicFormat.Raw)


def entry_event(entry: dict[str, Any]) -> dict[str, Any]:
    """The event an entry's canonical bytes hold."""
    event = json.loads(_b64(entry["canonical"])).get("event")
    return event if isinstance(event, dict) else {}


def _verify_origin(event: Any, services: Mapping[str, tuple[str, Ed25519PublicKey]]) -> None:
    """The event was signed by a key of the service its type belongs to."""
    if not isinstance(event, dict):
        raise BundleError("the entry holds no event")
    owner = str(event.get("type", "")).split(".")
    if len(owner) < 3 or event.get("source") != f"/caseline/{owner[1]}":
        raise BundleError("the event's type and source do not name one service")
    kid, signature = event.get("originkeyid"), event.get("originsig")
    if not isinstance(kid, str) or not isinstance(signature, str):
        raise BundleError("the event carries no origin signature")
    if kid not in services or services[kid][0] != owner[1]:
        raise BundleError(
            "the event is not signed by a key of {service}, owner of its type", service=owner[1]
        )
    unsigned = {k: v for k, v in event.items() if k not in ("originkeyid", "originsig")}
    if not signed_by(services[kid][1], _b64(signature), rfc8785.dumps(unsigned)):
        raise BundleError("the event's origin signature does not verify")


def _verify_entries(
    bundle: dict[str, Any],
    report: BundleReport,
    checkpoint: Checkpoint,
    services: Mapping[str, tuple[str, Ed25519PublicKey]],
) -> tuple[dict[str, Any], tuple[int, int] | None]:
    """Each entry in turn: its chain link, its fields, its inclusion in the signed tree.

    Returns the last entry and the first entry exported without a proof (position in the case
    and in the ledger): it is unproven, not disproven, so a cut tail found after it comes first.
    """
    prev, last_ledger_seq, last, unproven = GENESIS, 0, {}, None
    for seq, entry in enumerate(bundle["entries"], 1):
        at = entry.get("ledger_seq") if isinstance(entry, dict) else None
        try:
            prev, hashed = _verify_entry(
                bundle["case_id"], entry, seq, prev, last_ledger_seq, checkpoint
            )
            _verify_origin(hashed.get("event"), services)
        except (BundleError, KeyError, TypeError, AttributeError, ValueError) as exc:
            position = at if isinstance(at, int) else None
            if isinstance(exc, BundleError):
                raise BundleError(exc.template, seq, position, **exc.params) from None
            raise BundleError("the entry is malformed", seq, position) from None
        if entry["inclusion_proof"] is None:
            unproven = unproven or (seq, hashed["ledger_seq"])
        event = hashed.get("event") or {}
        report.first_time = report.first_time or event.get("time")
        report.last_time = event.get("time")
        report.events = seq
        last_ledger_seq, last = hashed["ledger_seq"], hashed
    if not bundle["entries"]:
        raise BundleError("the bundle holds no entry")
    return {**last, "hash": prev.hex()}, unproven


def _verify_entry(
    case_id: str, entry: dict[str, Any], seq: int, prev: bytes, after: int, checkpoint: Checkpoint
) -> tuple[bytes, dict[str, Any]]:
    """One entry: its hash and its hashed content, once every check holds."""
    canonical = _b64(entry["canonical"])
    try:
        hashed = json.loads(canonical)
    except ValueError:
        raise BundleError("the entry's bytes are not JSON") from None
    ledger_seq = entry["ledger_seq"]
    if entry["case_seq"] != seq or hashed.get("case_seq") != seq:
        raise BundleError("entry {seq} of the case is missing or out of place", seq=seq)
    if hashed.get("case_id") != case_id or hashed.get("ledger_seq") != ledger_seq:
        raise BundleError("the entry's hashed case or position differs from the bundle's")
    if not isinstance(ledger_seq, int) or not after < ledger_seq <= checkpoint.tree_size:
        raise BundleError("the entry is out of ledger order or beyond the checkpoint")
    if _hex(entry["prev_hash"]) != prev:
        raise BundleError("prev_hash does not match the previous entry's hash")
    digest = hashlib.sha256(prev + canonical).digest()
    if digest.hex() != entry["hash"]:
        raise BundleError("the entry's bytes do not match its hash")
    if entry["inclusion_proof"] is None:  # the ledger could not make one: checked by the caller
        return digest, hashed
    proof = _hexes(entry["inclusion_proof"])
    if not verify_inclusion(
        ledger_seq - 1, checkpoint.tree_size, _leaf(canonical), proof, checkpoint.root_hash
    ):
        raise BundleError("the entry is not in the signed tree (its inclusion proof fails)")
    return digest, hashed


def _verify_head(
    bundle: dict[str, Any], checkpoint: Checkpoint, last: dict[str, Any], events: int
) -> None:
    """The case's last entry is the head the checkpoint signed: nothing after it was cut off."""
    head = bundle["case_head"]
    missing = BundleError(
        "the checkpoint does not sign this case's head: later entries were cut off or altered",
        events + 1,
    )
    if not isinstance(head, dict):
        raise missing
    leaf = _b64(head["leaf"])
    if head["heads_size"] != checkpoint.heads_size or not verify_inclusion(
        head["index"],
        checkpoint.heads_size,
        _leaf(leaf),
        _hexes(head["proof"]),
        checkpoint.heads_root,
    ):
        raise missing
    signed = json.loads(leaf)
    if signed.get("case_id") != bundle["case_id"]:
        raise missing
    if signed.get("case_seq", 0) > events:
        raise BundleError(
            "entries {first} to {last} of the case are missing from the bundle",
            events + 1,
            first=events + 1,
            last=signed["case_seq"],
        )
    if (signed.get("case_seq"), signed.get("ledger_seq"), signed.get("head_hash")) != (
        events, last["ledger_seq"], last["hash"],
    ):  # fmt: skip
        raise missing
