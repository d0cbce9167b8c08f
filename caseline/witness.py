"""`caseline witness`: an agency keeps its own copy of the ledger's checkpoints and cosigns them.

A checkpoint is kept and cosigned only if the pinned ledger key signed it and it is consistent
(RFC 9162) with the last one held, so a re-signed rewrite of history alerts (exit 2). A checkpoint
of another key is followed only through handovers signed by the pinned key; the witness re-pins.
A key's handover names the last tree size it signed, and (v2) the root of the tree at that size:
the witness remembers both, and refuses any checkpoint of that key beyond that size, at that size
with another root, or before it with a root the ledger's consistency proof does not tie to it.
"""

from __future__ import annotations

import base64
import json
import os
import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import httpx
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey

from caseline.bundle import (
    COSIGNATURE_HEADER,
    BundleError,
    Checkpoint,
    KeyHandover,
    follow_handovers,
    handover_ends,
    parse_statement,
    past_handover,
    public_key,
    signed_by,
    verify_consistency,
)
from shared.kit.i18n import translate as _

__all__ = ["Witness", "WitnessError", "witness_roots"]


class WitnessError(RuntimeError):
    """The ledger showed the witness something it must not countersign (its text in the language
    of the command: `_("…")`)."""


@dataclass(frozen=True)
class Held:
    """A checkpoint the witness verified and keeps."""

    tree_size: int
    root_hash: bytes
    statement: bytes

    @classmethod
    def from_json(cls, line: str) -> Held:
        data = json.loads(line)
        return cls(
            data["tree_size"], bytes.fromhex(data["root_hash"]), base64.b64decode(data["statement"])
        )


def _held(state: Path) -> list[Held]:
    path = state / "checkpoints.jsonl"
    if not path.exists():
        return []
    return [Held.from_json(line) for line in path.read_text().splitlines() if line.strip()]


def witness_roots(state: Path) -> dict[int, tuple[str, bytes]]:
    """Every root a witness holds, by tree size (for `caseline verify --witness`)."""
    config = json.loads((Path(state) / "witness.json").read_text())
    return {
        h.tree_size: (_("witness {name}'s copy", name=config["name"]), h.root_hash)
        for h in _held(Path(state))
    }


def _kept_end(kid: str, end: dict[str, Any]) -> KeyHandover:
    """Where a key stopped, as `witness.json` keeps it (`last_root_hash` only from a v2)."""
    root = end.get("last_root_hash")
    return KeyHandover(
        kid, end["new_key_id"], end["last_tree_size"], None if root is None else bytes.fromhex(root)
    )


class Witness:
    """One witness: its key, its pinned ledger key, and the checkpoints it holds."""

    def __init__(
        self,
        state: Path,
        ledger_url: str,
        *,
        name: str | None = None,
        ledger_key: str | None = None,
        token: str | None = None,
        client: httpx.Client | None = None,
    ) -> None:
        self.state = Path(state)
        self.state.mkdir(parents=True, exist_ok=True)
        self.http = client or httpx.Client(base_url=ledger_url, timeout=15)
        # Reads of the ledger are authenticated and audited like anyone's (with the purpose that
        # production requires); cosignatures are not.
        self.headers = {"Caseline-Purpose": "witnessing the ledger's checkpoints"}
        if token:
            self.headers["Authorization"] = f"Bearer {token}"
        config_path = self.state / "witness.json"
        config: dict[str, Any] = json.loads(config_path.read_text()) if config_path.exists() else {}
        if name and config.get("name") not in (None, name):
            raise WitnessError(
                _("this state directory belongs to witness {name!r}", name=config["name"])
            )
        config["name"] = name or config.get("name")
        if not config["name"]:
            raise WitnessError(_("name this witness with --name on its first run"))
        # A key this witness has followed a handover from stays acceptable on its command line.
        if ledger_key and ledger_key not in config.get("handed_over_from", []):
            if config.get("ledger_key") not in (None, ledger_key):
                raise WitnessError(_("another ledger key is pinned in this state directory"))
            config["ledger_key"] = ledger_key
        self.config = config
        self.key = self._load_or_create_key()
        self._save_config()

    @property
    def name(self) -> str:
        return str(self.config["name"])

    def _load_or_create_key(self) -> Ed25519PrivateKey:
        path = self.state / "witness.key"
        if not path.exists():
            pem = Ed25519PrivateKey.generate().private_bytes(
                serialization.Encoding.PEM,
                serialization.PrivateFormat.PKCS8,
                serialization.NoEncryption(),
            )
            fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
            with os.fdopen(fd, "wb") as out:
                out.write(pem)
        key = serialization.load_pem_private_key(path.read_bytes(), password=None)
        if not isinstance(key, Ed25519PrivateKey):
            raise WitnessError(_("{path} is not an Ed25519 key", path=path))
        return key

    def _save_config(self) -> None:
        (self.state / "witness.json").write_text(json.dumps(self.config, indent=2) + "\n")

    def public_key(self) -> str:
        raw = self.key.public_key().public_bytes(
            serialization.Encoding.Raw, serialization.PublicFormat.Raw
        )
        return base64.b64encode(raw).decode()

    def registration(self) -> str:
        """The line the ledger's operator adds to CASELINE_LEDGER_WITNESS_KEYS."""
        return f"{self.name}={self.public_key()}"

    def _get(self, path: str, **params: Any) -> Any:
        response = self.http.get(path, params=params or None, headers=self.headers)
        response.raise_for_status()
        return response.json()

    def _ledger_key(self, say: Callable[[str], None]) -> str:
        if not self.config.get("ledger_key"):
            self.config["ledger_key"] = self._get("/checkpoints/key")["public_key"]
            self._save_config()
            kid = public_key(self.config["ledger_key"])[1]
            say(_("pinned the ledger's key {kid} on first contact", kid=kid))
        return str(self.config["ledger_key"])

    def step(self, say: Callable[[str], None] = print) -> Checkpoint | None:
        """Fetch the latest checkpoint, check it against the last one held, cosign and keep it."""
        response = self.http.get("/checkpoints/latest", headers=self.headers)
        if response.status_code == 404:
            return None
        response.raise_for_status()
        body = response.json()
        statement = base64.b64decode(body["statement"])
        try:
            checkpoint = parse_statement(statement)
        except BundleError as exc:
            raise WitnessError(exc.say(_)) from None
        ledger_public, kid = public_key(self._ledger_key(say))
        served = self._get("/checkpoints/key")
        self._refuse_past_handover(checkpoint, served.get("handovers", []))
        if checkpoint.key_id != kid:
            ledger_public, kid = self._follow_handover(checkpoint, served, say)
        if not signed_by(ledger_public, base64.b64decode(body["signature"]), statement):
            raise WitnessError(
                _(
                    "checkpoint {size} is not signed by the pinned ledger key",
                    size=checkpoint.tree_size,
                )
            )
        held = _held(self.state)
        if held:
            self._check_consistent(held[-1], checkpoint)
        self._cosign(checkpoint, statement, say)
        if not held or held[-1].tree_size != checkpoint.tree_size:
            record = {
                "tree_size": checkpoint.tree_size,
                "root_hash": checkpoint.root_hash.hex(),
                "signed_at": checkpoint.signed_at,
                "statement": body["statement"],
                "signature": body["signature"],
            }
            with (self.state / "checkpoints.jsonl").open("a") as out:
                out.write(json.dumps(record, sort_keys=True) + "\n")
        return checkpoint

    def _refuse_past_handover(self, checkpoint: Checkpoint, served: list[Any]) -> None:
        """Remember where each key the ledger shows handed over stopped signing, and at which
        root (the ledger could hide the handover later), and refuse a checkpoint of such a key
        beyond that, or of another tree."""
        try:
            shown = handover_ends(served)
        except BundleError as exc:
            raise WitnessError(
                _("the ledger serves a bad key handover: {reason}", reason=exc.say(_))
            ) from None
        kept: dict[str, dict[str, Any]] = self.config.setdefault("key_ends", {})
        ends = {kid: _kept_end(kid, e) for kid, e in kept.items()}
        changed = False
        for kid, end in shown.items():
            held = ends.get(kid)
            if held is not None and not held.agrees(end):
                # What the witness holds is never replaced: a key is handed over once.
                raise WitnessError(
                    _(
                        "the ledger serves a handover of key {kid} other than the one this"
                        " witness holds (to key {held_kid} after {held_size} entries; now to key"
                        " {kid_now} after {size_now}, or to another root): a key is handed over"
                        " once, so its private key was used by someone else",
                        kid=kid,
                        held_kid=held.new_kid,
                        held_size=held.last_tree_size,
                        kid_now=end.new_kid,
                        size_now=end.last_tree_size,
                    )
                )
            if held is None or end.stricter(held) != held:
                ends[kid] = end
                kept[kid] = {"last_tree_size": end.last_tree_size, "new_key_id": end.new_kid}
                if end.last_root_hash is not None:
                    kept[kid]["last_root_hash"] = end.last_root_hash.hex()
                changed = True
        if changed:
            self._save_config()
        past = past_handover(checkpoint, ends, self._consistent)
        if past:
            raise WitnessError(_("{reason}: refusing it", reason=past.say(_)))

    def _consistent(self, first: int, first_root: bytes, second: int, second_root: bytes) -> bool:
        """Whether the ledger's consistency proof shows the tree of `first` entries with
        `first_root` is a prefix of the tree of `second` with `second_root`."""
        try:
            body = self._get("/proofs/consistency", first=first, second=second)
            proof = [bytes.fromhex(p) for p in body["proof"]]
        except (httpx.HTTPStatusError, KeyError, TypeError, ValueError):
            return False
        return verify_consistency(first, second, first_root, second_root, proof)

    def _follow_handover(
        self, checkpoint: Checkpoint, served: dict[str, Any], say: Callable[[str], None]
    ) -> Any:
        """Re-pin to the checkpoint's key if handovers signed by the pinned key lead to it."""
        pinned = str(self.config["ledger_key"])
        try:
            path = follow_handovers(pinned, checkpoint.key_id, served.get("handovers", []))
        except BundleError as exc:
            raise WitnessError(
                _(
                    "checkpoint {size} is {reason}: refusing it (pin a new key in witness.json"
                    " only once the ledger's operator has confirmed it to you)",
                    size=checkpoint.tree_size,
                    reason=exc.say(_),
                )
            ) from None
        # The key id is a hash of the key: the served key is the one the handovers lead to.
        if public_key(served["public_key"])[1] != checkpoint.key_id:
            raise WitnessError(
                _(
                    "checkpoint {size} is signed by key {kid}, which the ledger does not serve as"
                    " its current key",
                    size=checkpoint.tree_size,
                    kid=checkpoint.key_id,
                )
            )
        self.config["handed_over_from"] = [*self.config.get("handed_over_from", []), pinned]
        self.config["ledger_key"] = served["public_key"]
        self._save_config()
        say(
            _(
                "followed the ledger's key handover {path} (signed by the pinned key);"
                " now pinned to key {kid}",
                path=" → ".join(path),
                kid=checkpoint.key_id,
            )
        )
        return public_key(self.config["ledger_key"])

    def _check_consistent(self, last: Held, checkpoint: Checkpoint) -> None:
        if checkpoint.tree_size < last.tree_size:
            raise WitnessError(
                _(
                    "the ledger's latest checkpoint ({size} entries) is older than the one this"
                    " witness holds ({held}): history was cut",
                    size=checkpoint.tree_size,
                    held=last.tree_size,
                )
            )
        if checkpoint.tree_size == last.tree_size:
            proof: list[bytes] = []
        else:
            body = self._get(
                "/proofs/consistency", first=last.tree_size, second=checkpoint.tree_size
            )
            proof = [bytes.fromhex(p) for p in body["proof"]]
        if not verify_consistency(
            last.tree_size, checkpoint.tree_size, last.root_hash, checkpoint.root_hash, proof
        ):
            raise WitnessError(
                _(
                    "the ledger's tree of {size} entries does not extend the tree of {held}"
                    " entries this witness holds: history was rewritten",
                    size=checkpoint.tree_size,
                    held=last.tree_size,
                )
            )

    def _cosign(self, checkpoint: Checkpoint, statement: bytes, say: Callable[[str], None]) -> None:
        message = f"{COSIGNATURE_HEADER}\nwitness {self.name}\n".encode() + statement
        signature = base64.b64encode(self.key.sign(message)).decode()
        response = self.http.post(
            f"/checkpoints/{checkpoint.tree_size}/cosignatures",
            json={"witness": self.name, "signature": signature},
        )
        if response.status_code == 403:
            detail = response.json().get("detail")
            say(
                _(
                    "the ledger does not accept this witness's cosignature ({detail}); register"
                    " it with CASELINE_LEDGER_WITNESS_KEYS={registration}",
                    detail=detail,
                    registration=self.registration(),
                )
            )
        else:
            response.raise_for_status()

    def run(self, interval: float, once: bool, say: Callable[[str], None] = print) -> int:
        """Witness until stopped (or once); non-zero as soon as the ledger is inconsistent."""
        while True:
            try:
                checkpoint = self.step(say)
                if checkpoint is None:
                    say(_("the ledger has signed no checkpoint yet"))
                else:
                    root = checkpoint.root_hash.hex()[:16]
                    say(_("witnessed checkpoint {size} (root {root}…)", size=checkpoint.tree_size,
                          root=root))  # fmt: skip
            except WitnessError as exc:
                say(_("ALERT: {alert}", alert=exc))
                return 2
            except httpx.HTTPError as exc:
                say(_("the ledger is unreachable: {error}", error=exc))
                if once:
                    return 1
            if once:
                return 0
            time.sleep(interval)
