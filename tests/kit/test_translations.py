"""Every message a person reads has its French and Arabic: read from the source, compared with
the catalogues; each translation keeps the placeholders of its English; the CLI speaks `--lang`."""

from __future__ import annotations

import contextvars
import importlib
import pkgutil
from pathlib import Path

import pytest

from shared.kit.errors import CaselineError
from shared.kit.i18n import catalogue, cli_language, negotiate, placeholders, translate
from shared.kit.i18n_extract import error_types, extract

ROOT = Path(__file__).resolve().parents[2]
FOREIGN = ("fr", "ar")


@pytest.fixture(scope="module")
def found():
    return extract(ROOT)


def test_the_source_holds_the_messages(found):
    keys = found.messages
    assert (
        "detention-already-ordered",
        "no detention order without charges: the prosecutor files them first",
    ) not in keys
    assert (
        "charges-required",
        "no detention order without charges: the prosecutor files them first",
    ) in keys
    assert ("invalid-fields", "Field required") in keys
    assert (None, "show this help message and exit") in keys
    assert len(keys) > 250


def test_no_message_is_written_where_it_cannot_be_translated(found):
    # A detail as an f-string: its variable parts become named placeholders instead.
    assert found.formatted == []


@pytest.mark.parametrize("language", FOREIGN)
def test_every_message_has_a_translation(found, language):
    translations = catalogue(language)
    missing = [
        f"{places[0]}: [{context}] {msgid!r}"
        for (context, msgid), places in sorted(found.messages.items(), key=str)
        if (context, msgid) not in translations
    ]
    assert missing == [], (
        f"{len(missing)} message(s) without a {language} translation; run `make translations` "
        f"and fill them in shared/locale/{language}/LC_MESSAGES/caseline.po:\n" + "\n".join(missing)
    )


@pytest.mark.parametrize("language", FOREIGN)
def test_each_translation_keeps_the_placeholders_of_its_english(language):
    wrong = [
        (msgid, text)
        for (_, msgid), text in catalogue(language).items()
        if placeholders(text) != placeholders(msgid)
    ]
    assert wrong == []
    assert len(catalogue(language)) > 250


def test_the_runtime_type_of_each_error_is_the_one_the_extraction_keys_on(found):
    for module in _modules("shared", "services"):
        importlib.import_module(module)
    errors = [
        c for c in _subclasses(CaselineError) if c.__module__.startswith(("shared.", "services."))
    ]
    assert len(errors) > 60
    read = error_types(ROOT)
    for cls in errors:
        try:
            exc = cls()
        except TypeError:
            continue  # its own __init__ takes what it says
        assert (exc.title, exc.slug, exc.problem_type) in read[cls.__name__], cls
        assert (exc.slug, exc.title) in found.messages, cls


def test_a_translation_fills_its_placeholders_where_its_grammar_wants_them():
    english = "the person was released at {released_at}: record a new arrest first"
    moment = "2026-03-01T10:00:00+00:00"
    for language in FOREIGN:
        text = translate(english, language, context="person-released", released_at=moment)
        assert moment in text and text != english.format(released_at=moment)
    assert translate(english, "en", released_at=moment) == english.format(released_at=moment)
    # Unknown to the catalogue: the English, filled.
    assert translate("no such {x}", "fr", x=1) == "no such 1"


@pytest.mark.parametrize(
    ("header", "language"),
    [
        (None, "en"),
        ("", "en"),
        ("fr", "fr"),
        ("ar-ML", "ar"),
        ("fr-ML, fr;q=0.9, en;q=0.8", "fr"),
        ("en;q=0.3, ar;q=0.7", "ar"),
        ("de, sw;q=0.9", "en"),
        ("*", "en"),
        ("fr;q=0, ar;q=0.1", "ar"),
        ("fr;q=oops, ar", "ar"),
    ],
)
def test_accept_language_is_negotiated(header, language):
    assert negotiate(header) == language


def test_the_default_is_a_setting():
    assert negotiate("de", default="fr") == "fr"
    assert negotiate(None, default="ar") == "ar"


def test_the_cli_language_comes_from_the_flag_then_the_environment():
    assert cli_language("fr", {"CASELINE_LANG": "ar"}) == "fr"
    assert cli_language(None, {"CASELINE_LANG": "ar", "LANG": "fr_ML.UTF-8"}) == "ar"
    assert cli_language(None, {"LANG": "fr_ML.UTF-8"}) == "fr"
    assert cli_language(None, {"LC_ALL": "ar_MA.UTF-8", "LANG": "fr_FR"}) == "ar"
    assert cli_language(None, {"LANG": "C.UTF-8"}) == "en"
    assert cli_language(None, {}) == "en"


def _help(argv, capsys):
    from caseline.cli import main

    with pytest.raises(SystemExit):
        contextvars.copy_context().run(main, argv)
    return capsys.readouterr()


def test_the_cli_prints_french_with_lang_fr(capsys):
    out = _help(["--lang", "fr", "--help"], capsys).out
    assert "utilisation : caseline" in out
    assert "afficher cette aide et quitter" in out
    assert "démarrer PostgreSQL, NATS et les cinq services" in out


def test_the_cli_prints_arabic_wherever_the_flag_stands(capsys):
    out = _help(["token", "--help", "--lang=ar"], capsys).out
    assert "الاستعمال: caseline token" in out
    assert "بالدقائق" in out
    err = _help(["--lang", "ar", "nonsense"], capsys).err
    assert "خطأ" in err


def test_the_cli_speaks_english_by_default(capsys, monkeypatch):
    monkeypatch.delenv("CASELINE_LANG", raising=False)
    monkeypatch.setenv("LANG", "C.UTF-8")
    monkeypatch.delenv("LC_ALL", raising=False)
    monkeypatch.delenv("LC_MESSAGES", raising=False)
    out = _help(["--help"], capsys).out
    assert "usage: caseline" in out and "show this help message and exit" in out


def _modules(*packages: str) -> list[str]:
    out = []
    for package in packages:
        for info in pkgutil.walk_packages([str(ROOT / package)], prefix=f"{package}."):
            if not info.name.endswith("__main__") and ".console" not in info.name:
                out.append(info.name)
    return out


def _subclasses(cls: type) -> list[type]:
    out = []
    for sub in cls.__subclasses__():
        out += [sub, *_subclasses(sub)]
    return out


def test_a_deployment_may_answer_french_by_default():
    from fastapi import FastAPI
    from fastapi.testclient import TestClient

    from shared.kit.errors import NotFoundError, RuleViolation
    from shared.kit.problems import LanguageMiddleware, install_problem_handlers

    class ReferralAnsweredError(RuleViolation):
        pass

    app = FastAPI()
    install_problem_handlers(app)
    app.add_middleware(LanguageMiddleware, default="fr")

    @app.get("/cases/{case_id}")
    def _missing(case_id: str) -> None:
        raise NotFoundError("no case {case_id}", case_id=case_id)

    @app.post("/referrals/{referral_id}/acceptance")
    def _answered(referral_id: str) -> None:
        raise ReferralAnsweredError("the referral was already {status}", status="accepted")

    with TestClient(app) as client:
        silent = client.get("/cases/K-1")
        english = client.get("/cases/K-1", headers={"Accept-Language": "en-GB"})
        unknown = client.get("/cases/K-1", headers={"Accept-Language": "de"})
        answered = client.post("/referrals/R-1/acceptance", headers={"Accept-Language": "ar"})
        answered_en = client.post("/referrals/R-1/acceptance", headers={"Accept-Language": "en"})

    assert (silent.headers["content-language"], silent.json()["detail"]) == (
        "fr",
        "aucun dossier K-1",
    )
    assert english.json()["detail"] == "no case K-1"
    assert unknown.json()["title"] == "Introuvable"
    assert silent.json()["type"] == english.json()["type"]
    # The words a placeholder holds (a status) are translated too.
    assert answered.status_code == 409
    assert answered.json()["type"].endswith("/referral-answered")
    assert answered.json()["detail"] == "الإحالة سبق أن كانت مقبولة"
    assert answered_en.json()["detail"] == "the referral was already accepted"


def test_a_line_the_cli_prints_in_english_only_is_named(tmp_path):
    cli = tmp_path / "caseline"
    cli.mkdir()
    (tmp_path / "shared").mkdir()
    (tmp_path / "services").mkdir()
    (cli / "report.py").write_text(
        "import json, sys\n"
        "from shared.kit.i18n import translate as _\n"
        "def report(n, say, rows, stream):\n"
        '    print(f"checked {n} entries")\n'  # 4: English only
        '    sys.stderr.write(f"cannot read {n}\\n")\n'  # 5
        '    say("the ledger has signed nothing yet")\n'  # 6
        '    stream.write("done" + "\\n")\n'  # 7
        '    raise BundleError(f"entry {n} is missing")\n'  # 8
        '    print(_("checked {n} entries", n=n))\n'  # translated
        '    sys.stderr.write(_("cannot read {n}", n=n) + "\\n")\n'
        "    print(json.dumps(rows))\n"  # machine output: JSON
        '    sys.stdout.write(f"{n}\\t{rows}\\n")\n'  # values alone
        '    print(f"  {n:<11} " + _("(docs: {url}/docs)", url=n))\n'
        '    print(rows["development"])\n'
        '    raise BundleError("entry {n} is missing", n=n)\n'
    )

    found = extract(tmp_path)

    assert found.formatted == [f"caseline/report.py:{n}" for n in (4, 5, 6, 7, 8)]
    assert (None, "entry {n} is missing") in found.messages
    assert (None, "checked {n} entries") in found.messages


def test_a_validators_own_words_and_pydantics_inside_a_detail_are_translated():
    from datetime import UTC, datetime

    from fastapi import FastAPI
    from fastapi.testclient import TestClient
    from pydantic import ValidationError

    from services.judicial.application import build
    from shared.events.judicial import PreTrialDetentionRenewed
    from shared.events.programmes import ProgrammeCreated
    from shared.kit.problems import LanguageMiddleware, field_message, install_problem_handlers

    app = FastAPI()
    install_problem_handlers(app)
    app.add_middleware(LanguageMiddleware)

    @app.post("/renewals")
    def _renew() -> None:
        at = datetime(2026, 3, 1, tzinfo=UTC)
        build(PreTrialDetentionRenewed, renewed_by="judge-1", renewed_at=at, expires_at=at)

    with TestClient(app) as client:
        renewal = {
            lang: client.post("/renewals", headers={"Accept-Language": lang}).json()["detail"]
            for lang in ("en", "fr", "ar")
        }
    with pytest.raises(ValidationError) as invalid:
        ProgrammeCreated.model_validate(
            {
                "programme_id": "00000000-0000-4000-8000-000000000001",
                "kind": "vocational",
                "title": "Literacy",
                "provider_agency": "ngo",
                "capacity": 10,
                "starts_on": "2026-03-02",
                "ends_on": "2026-03-01",
            }
        )
    (error,) = invalid.value.errors()

    assert renewal["en"] == "invalid fields: body: Value error, expires_at must be after renewed_at"
    assert "expires_at doit être postérieur à renewed_at" in renewal["fr"]
    assert "Valeur invalide" in renewal["fr"] and "Value error" not in renewal["fr"]
    assert "يجب أن يكون expires_at بعد renewed_at" in renewal["ar"]
    assert field_message(error, "en") == "Value error, ends_on must not be before starts_on"
    assert field_message(error, "fr") == "Valeur invalide, ends_on ne doit pas précéder starts_on"
    assert field_message(error, "ar") == "قيمة غير صالحة، يجب ألا يسبق ends_on التاريخ starts_on"


def test_an_event_types_name_inside_a_refusal_is_translated():
    from fastapi import FastAPI
    from fastapi.testclient import TestClient

    from shared.kit.auth import require_voider
    from shared.kit.problems import LanguageMiddleware, install_problem_handlers

    app = FastAPI()
    install_problem_handlers(app)
    app.add_middleware(LanguageMiddleware)

    @app.post("/voidings")
    def _void() -> None:
        require_voider("social_worker", "ngo", "caseline.intake.ArrestRecorded.v1", "police")

    with TestClient(app) as client:
        said = {
            lang: client.post("/voidings", headers={"Accept-Language": lang}).json()["detail"]
            for lang in ("en", "fr", "ar")
        }

    assert said["en"] == "role 'social_worker' may not void ArrestRecorded"
    assert said["fr"] == "le rôle 'social_worker' ne peut pas annuler l'arrestation"
    assert said["ar"] == "لا يجوز للدور 'social_worker' إلغاء الاعتقال"
