"""Instruments as data: read an instrument file and publish it once (the shipped default).

The default lives in the repository's `deploy/instruments/default.yaml`; see its README.
"""

from __future__ import annotations

import logging
from pathlib import Path
from typing import Any

import yaml

from services.assessment.application import AssessmentApplication
from shared.events.assessment import InstrumentPublished
from shared.kit.store import CommandContext, IntegrityError, Recorded

__all__ = ["DEFAULT_INSTRUMENT", "load_instrument", "publish_instrument_file"]

log = logging.getLogger("caseline.assessment")

DEFAULT_INSTRUMENT = Path(__file__).resolve().parents[2] / "deploy" / "instruments" / "default.yaml"


def load_instrument(path: Path) -> InstrumentPublished:
    """The instrument version a file describes (keys starting with `_` hold YAML anchors)."""
    document: Any = yaml.safe_load(path.read_text(encoding="utf-8"))
    if not isinstance(document, dict):
        raise ValueError(f"{path.name}: not a mapping")
    fields = {k: v for k, v in document.items() if not str(k).startswith("_")}
    return InstrumentPublished.model_validate(fields)


def publish_instrument_file(
    app: AssessmentApplication, path: Path = DEFAULT_INSTRUMENT
) -> Recorded | None:
    """Publish the file's version unless that version (or a later one) is already published."""
    data = load_instrument(path)
    latest = app.latest_instrument_version(data.instrument_id)
    if latest is not None and data.instrument_version <= latest:
        return None
    try:
        recorded = app.publish(data, CommandContext.system())
    except IntegrityError:
        return None  # another replica published it at the same moment
    log.info("published instrument %s version %s", data.instrument_id, data.instrument_version)
    return recorded
