"""Problem details speak the caller's language: French, Arabic or English by `Accept-Language`,
the rule's legal citation kept as cited, `Content-Language` and `Vary` on the answer."""

from __future__ import annotations

from datetime import timedelta

from tests.judicial.pathway import DAY, HOUR, iso


def order(stack, case_id: str, language: str | None, **extra):
    body = {
        "ordered_by": "Juge d'instruction du pôle",
        "ordered_at": iso(stack.now() - 30 * timedelta(minutes=1)),
        "legal_basis": "CPP art. 135",
        **extra,
    }
    headers = {"Accept-Language": language} if language is not None else {}
    return stack.post(
        stack.judicial, f"/cases/{case_id}/detention-orders", "judge", body, **headers
    )


def test_a_refusal_in_arabic(stack):
    case_id = stack.detained_case()

    response = order(stack, case_id, "ar")

    assert response.status_code == 409, response.text
    assert response.headers["content-language"] == "ar"
    assert "accept-language" in response.headers["vary"].lower()
    problem = response.json()
    assert problem["type"].endswith("/detention-already-ordered")
    assert problem["title"] == "مرفوض بموجب قاعدة"
    assert problem["detail"].startswith("الحبس الاحتياطي مأمور به بالفعل حتى ")
    assert "مدِّده" in problem["detail"]


def test_a_refusal_in_french_by_q_values_keeps_the_legal_citation(stack):
    case_id = stack.charged_case()
    ordered = stack.now() - HOUR

    response = order(
        stack,
        case_id,
        "ar;q=0.4, fr-ML;q=0.9, en;q=0.5",
        ordered_at=iso(ordered),
        expires_at=iso(ordered + 366 * DAY),
    )

    assert response.status_code == 409, response.text
    assert response.headers["content-language"] == "fr"
    problem = response.json()
    assert problem["type"].endswith("/detention-term-too-long")
    assert problem["title"] == "Refusé par une règle"
    assert problem["detail"].startswith("un premier mandat de dépôt pour la catégorie d'infraction")
    assert "365 jours" in problem["detail"]
    assert "art. 135" in problem["detail"]


def test_an_unknown_language_and_none_fall_back_to_english(stack):
    case_id = stack.detained_case()

    for language in ("de-DE, sw;q=0.8", None):
        response = order(stack, case_id, language)

        assert response.status_code == 409, response.text
        assert response.headers["content-language"] == "en"
        assert response.json()["title"] == "Refused by a rule"
        assert "renew it instead" in response.json()["detail"]


def test_invalid_fields_name_each_field_in_the_callers_language(stack):
    case_id = stack.charged_case()
    body = {"ordered_at": "2026-01-01T10:00:00", "legal_basis": "x" * 5000, "colour": "red"}

    response = stack.post(
        stack.judicial,
        f"/cases/{case_id}/detention-orders",
        "judge",
        body,
        **{"Accept-Language": "fr"},
    )

    assert response.status_code == 422, response.text
    assert response.headers["content-language"] == "fr"
    problem = response.json()
    assert problem["title"] == "Champs invalides"
    assert problem["detail"].startswith("champs invalides : ")
    messages = {e["field"]: e["message"] for e in problem["errors"]}
    assert messages["ordered_by"] == "Champ obligatoire"
    assert messages["colour"] == "Champ non prévu"
    assert any(m.startswith("Le texte doit compter au plus") for m in messages.values()), messages
    assert "ordered_at" in messages
    assert messages["ordered_at"] == "La date-heure doit indiquer son fuseau horaire", messages


def test_a_404_in_arabic(stack):
    response = stack.judicial.get(
        "/cases/00000000-0000-4000-8000-000000000000",
        headers=stack.h("auditor", **{"Accept-Language": "ar"}),
    )

    assert response.status_code == 404, response.text
    assert response.headers["content-language"] == "ar"
    assert response.json()["title"] == "غير موجود"


def test_the_kits_refusals_speak_it_too(stack):
    case_id = stack.charged_case()
    path = f"/cases/{case_id}/detention-orders"

    unauthenticated = stack.judicial.post(path, json={}, headers={"Accept-Language": "fr"})
    wrong_type = stack.judicial.post(
        path,
        content=b"ordered_by=x",
        headers=stack.h("judge", **{"Content-Type": "text/plain", "Accept-Language": "ar"}),
    )
    stale = stack.judicial.post(
        path,
        json={"ordered_by": "Juge", "legal_basis": "CPP art. 135"},
        headers=stack.h("judge", **{"If-Match": "nope", "Accept-Language": "fr"}),
    )

    assert unauthenticated.status_code == 401, unauthenticated.text
    assert unauthenticated.headers["www-authenticate"] == "Bearer"
    assert unauthenticated.json()["title"] == "Non authentifié"
    assert unauthenticated.json()["detail"] == "un jeton d'accès valide est requis"
    assert wrong_type.status_code == 415, wrong_type.text
    assert wrong_type.json()["detail"] == "أرسل متن الطلب بصيغة application/json"
    assert stale.status_code == 400, stale.text
    assert stale.json()["detail"] == "If-Match doit être un numéro de version"
