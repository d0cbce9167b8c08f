"""Instruments as data: read an instrument file and publish it once (the shipped default, at
start-up).

The default lives in the repository's `deploy/instruments/default.yaml`; see its README.
"""

from __future__ import annotations

import asyncio
import logging
from pathlib import Path
from typing import Any

import yaml

from services.assessment.application import AssessmentApplication
from shared.events.assessment import InstrumentPublished
from shared.kit.store import CommandContext, IntegrityError, Recorded

__all__ = [
    "DEFAULT_INSTRUMENT",
    "load_instrument",
    "publish_at_start",
    "publish_instrument_file",
]

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


async def publish_at_start(app: AssessmentApplication, path: Path) -> None:
    """Background work at start-up: publish the file's version, waiting out passing failures (a
    file that cannot be read or is not an instrument is reported and left)."""
    delay = 0.5
    for _ in range(8):
        try:
            await asyncio.to_thread(publish_instrument_file, app, path)
            return
        except (OSError, ValueError) as exc:
            log.error("the instrument file %s cannot be published: %s", path.name, exc)
            return
        except Exception as exc:
            log.warning("publishing %s waits: %s", path.name, exc)
            await asyncio.sleep(delay)
            delay = min(delay * 2, 5.0)
