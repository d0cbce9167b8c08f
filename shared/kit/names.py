"""Finding a person without names in the clear: name keys, and a blind index of them.

Names are stored encrypted under each case's key, so they cannot be searched. What can be
searched is a set of *keys* derived from a person's identity, each hashed under an index key
(HMAC-SHA256, truncated to 64 bits), so the index holds no name, no date and no parent's name:

- name forms are folded first: Unicode NFKC, case, diacritics and the Sahel's hooked letters
  (ɓ ɗ ƙ ƴ ŋ ɲ), Arabic script transliterated letter by letter, particles (ag, ould, ben, bin, ibn,
  bint, mint, walet, el, al…) set aside; "Abd al-" and "Abou" compounds joined, and a sun
  letter's article with its name (At-Taher = Attaher);
- each name token gives an exact key (its folded spelling), a sound key (a consonant skeleton:
  vowels, h, w and y dropped; doubled letters collapsed; dj/j, kh/k/x, ch/sh, gh/rh/g, th/s, q/c/k
  brought together; then a table of name forms whose skeletons differ, e.g. Mohamed/Mahamat/
  Mamadou, Fatoumata/Fatima, Aïssata/Aïcha, Boubacar/Abubakar, Djibril/Gibril) and typo keys
  (the skeleton with one letter deleted, which meet when two spellings are one edit apart; for a
  skeleton under three letters, Oumou or Youssouf, the spelling with one letter deleted);
- unordered pairs of sound keys; the birth year and date; the father's and mother's name tokens
  ("fils de … et de …"), and the name after a patronymic particle (Ag Intallah, Ould Ahmed) as a
  father's name too.

`Match` says why a candidate ranks where it does (how many name tokens met and how, birth date or
year, parents' names), never with a name. Nothing here links persons: a registrar proposes, a
second person confirms.

What the index tells someone who holds it but not the key: how many keys each person has and of
which kind (the kind is stored beside the digest so that scoring can explain a match); which
persons share a key, hence which persons probably share a name, a birth year or a parent; and the
frequencies of the keys, from which a guess at the commonest ones is possible (the most frequent
sound key is very likely Muhammad's, the years' frequencies follow the population's ages).
Digests are not names, and the small spaces (years, dates) cannot be enumerated without the key.
With the key, everything that can be guessed can be tested: a year or date is found by trying
them all, a name by trying a list of names; so the key is as sensitive as the names and lives with
the master key, never with the index. The key is a parameter: `index_key` derives one from the
master key, and replacing the master key means recomputing the index from the decrypted names.
"""

from __future__ import annotations

import hashlib
import hmac
import math
import re
import unicodedata
from collections import Counter, defaultdict
from collections.abc import Callable, Collection, Iterable, Mapping
from dataclasses import dataclass, field
from datetime import date
from itertools import combinations

from shared.kit.i18n import N_, translate

__all__ = [
    "Birth",
    "BlindIndex",
    "Identity",
    "Match",
    "Probe",
    "RoughGain",
    "Scorer",
    "fold",
    "index_key",
    "name_tokens",
    "parse_birth",
    "parse_parentage",
    "person_digests",
    "query_probes",
    "rough_gains",
    "score",
    "sound_key",
]

_ARABIC = {
    "ا": "a", "أ": "a", "إ": "i", "آ": "a", "ٱ": "a", "ء": "", "ؤ": "u", "ئ": "i", "ب": "b",
    "ت": "t", "ة": "a", "ث": "th", "ج": "j", "ح": "h", "خ": "kh", "د": "d", "ذ": "d", "ر": "r",
    "ز": "z", "س": "s", "ش": "sh", "ص": "s", "ض": "d", "ط": "t", "ظ": "z", "ع": "a", "غ": "gh",
    "ف": "f", "ق": "q", "ك": "k", "ل": "l", "م": "m", "ن": "n", "ه": "h", "و": "u", "ي": "i",
    "ى": "a", "ـ": "", "گ": "g", "ڭ": "g", "ک": "k", "پ": "p", "چ": "ch", "ڤ": "v", "ی": "i",
    "ɓ": "b", "ɗ": "d", "ƙ": "k", "ƴ": "y", "ŋ": "ng", "ɲ": "ny", "œ": "oe", "æ": "ae", "ø": "o",
    "ł": "l", "đ": "d", "ı": "i", "'": "", "’": "", "ʼ": "", "ʻ": "", "`": "", "´": "",
}  # fmt: skip
_TRANSLATE = str.maketrans(_ARABIC)
_ARTICLE = re.compile(r"(?<![\u0620-\u064a])ال(?=[\u0620-\u064a]{2,})")
_PATRONYMIC = frozenset({
    "ag", "agh", "ak", "ould", "uld", "wuld", "ben", "bin", "ibn", "bn", "bint", "bnt", "mint",
    "walet", "welet",
})  # fmt: skip
_PARTICLES = _PATRONYMIC | {"ult", "oult", "el", "al", "ou"}
_SUN = frozenset({"ar", "ad", "as", "at", "an", "az", "er", "ed", "es", "et", "en", "ez"})
_COMPOUND = frozenset({"abd", "abdel", "abdal", "abdul", "abdoul", "abdil", "abu", "abou", "abo"})
_ARTICLES = frozenset({
    "al", "el", "ar", "er", "ad", "ed", "as", "es", "at", "et", "an", "en", "az", "ez", "ach", "ech",
})  # fmt: skip

# Name forms whose skeletons differ although registrars write the same name (first: the key).
_FORMS = (
    "muhammad mohamed mahamat mahamane mamane mohamet",
    "ahmad ahmed ahmat",
    "abubakar aboubacar boubacar bakary abubakr aboubakrine boubakar",
    "aisha aicha aissata",
    "fatima fatoumata fatma fatimata fadimata fadima",
    "khadija khadidja hadiza kadidia kadiatou",
    "jibril djibril gibril djibrilla",
    "hafsa habsatou habsa",
)


def fold(text: str) -> str:
    """NFKC, case and diacritics folded, Arabic script transliterated: lowercase ASCII words."""
    text = _ARTICLE.sub("", unicodedata.normalize("NFKC", text))
    text = unicodedata.normalize("NFD", text.casefold().translate(_TRANSLATE))
    text = "".join(c for c in text if not unicodedata.combining(c))
    text = unicodedata.normalize("NFKC", text).translate(_TRANSLATE)
    return " ".join(re.sub(r"[^a-z0-9]+", " ", text).split())


_DIGRAPHS = (
    ("tch", "C"), ("sch", "C"), ("ch", "C"), ("sh", "C"), ("dj", "j"), ("dh", "d"), ("th", "s"),
    ("kh", "k"), ("gh", "g"), ("rh", "g"), ("ph", "f"), ("qu", "k"), ("ck", "k"),
)  # fmt: skip
_SOFT_C = re.compile(r"c(?=[eiy])")
_DI = re.compile(r"di(?=[aeou])")  # Diarra/Jara, Diallo/Jallo, Kadidia/Khadija


def _skeleton(word: str) -> str:
    word = re.sub(r"(.)\1+", r"\1", word)
    for digraph, sound in _DIGRAPHS:
        word = word.replace(digraph, sound)
    word = (
        _SOFT_C.sub("s", _DI.sub("j", word)).replace("c", "k").replace("q", "k").replace("x", "k")
    )
    word = word.replace("p", "b")
    word = re.sub(r"[aeiouhwy0-9]", "", word.replace("C", "c"))
    if word.startswith("bd") and len(word) > 3 and word[2] == "l":
        word = "bd" + word[3:]  # Abd al-Qadir / Abdelkader / Abdoul Kader: the article goes
    return word or "v"


_CANONICAL = {_skeleton(form): forms.split()[0] for forms in _FORMS for form in forms.split()}


def sound_key(word: str) -> str:
    """The key a folded name token shares with its other spellings (see the module's docstring)."""
    skeleton = _skeleton(word)
    return _CANONICAL.get(skeleton, skeleton)


def _typo_keys(word: str) -> set[str]:
    """The skeleton and its one-letter deletions; a short skeleton (Oumou, Youssouf, Abdou) has
    too few letters for that, so its spelling and the spelling's one-letter deletions instead
    (marked with a leading "=")."""
    skeleton = _skeleton(word)
    keys = {skeleton}
    if len(skeleton) >= 3:
        keys.update(skeleton[:i] + skeleton[i + 1 :] for i in range(len(skeleton)))
    elif len(word) >= 4:
        keys.update("=" + word[:i] + word[i + 1 :] for i in range(len(word)))
        keys.add("=" + word)
    return keys


def _split(text: str) -> tuple[list[str], list[str]]:
    """A name's tokens (compounds joined, particles dropped) and those named after a patronymic."""
    words = fold(text).split()
    for i in range(len(words) - 2, -1, -1):  # At-Taher, As-Salam: the sun letter's article
        if words[i] in _SUN and words[i + 1][:1] == words[i][-1] and len(words[i + 1]) > 2:
            words[i : i + 2] = [words[i] + words[i + 1]]
    tokens: list[str] = []
    fathers: list[str] = []
    i = 0
    while i < len(words):
        word = words[i]
        if word in _COMPOUND and i + 1 < len(words):
            j = i + 1
            while j + 1 < len(words) and words[j] in _ARTICLES:
                j += 1
            word, i = word + words[j], j
        if word in _PARTICLES:
            if word in _PATRONYMIC and i + 1 < len(words) and words[i + 1] not in _PARTICLES:
                fathers.append(words[i + 1])
        else:
            tokens.append(word)
        i += 1
    return tokens, fathers


def name_tokens(text: str) -> tuple[str, ...]:
    """The sound keys of a name, sorted: two forms of one name give the same tuple."""
    return tuple(sorted(sound_key(t) for t in _split(text)[0]))


@dataclass(frozen=True)
class Birth:
    """A date of birth, or a year (`estimated`: an age or "vers 1985" rather than a document)."""

    year: int
    month: int | None = None
    day: int | None = None
    estimated: bool = False


_DIGITS = {
    c: str(unicodedata.digit(chr(c))) for r in ((0x660, 0x66A), (0x6F0, 0x6FA)) for c in range(*r)
}
_DAY_FIRST = re.compile(r"\b(\d{1,2})[./ -](\d{1,2})[./ -](\d{4})\b")
_ISO = re.compile(r"\b(\d{4})-(\d{1,2})-(\d{1,2})\b")
_YEAR = re.compile(r"\b(1[89]\d\d|20\d\d)\b")
_ESTIMATED = re.compile(r"\b(vers|env|environ|about|around|circa|ca|c|approx|presume)\b")


def parse_birth(value: str | date | None) -> Birth | None:
    """A birth from a date, `1987-03-12`, `12/03/1987` (day first), `1987`, `vers 1985`…"""
    if value is None:
        return None
    if isinstance(value, date):
        return Birth(value.year, value.month, value.day)
    text = unicodedata.normalize("NFKC", value).translate(_DIGITS)
    for pattern, order in ((_ISO, (0, 1, 2)), (_DAY_FIRST, (2, 1, 0))):
        found = pattern.search(text)
        if found:
            year, month, day = (int(found.group(k + 1)) for k in order)
            try:
                return Birth(date(year, month, day).year, month, day)
            except ValueError:
                return Birth(year, estimated=True)
    found = _YEAR.search(text)
    if found is None:
        return None
    return Birth(int(found.group(1)), estimated=bool(_ESTIMATED.search(fold(text))))


_PARENTS = re.compile(
    r"^(?:fils|fille|ne|nee|enfant|son|daughter|child)\s+(?:de|d|of)\s+(.*?)"
    r"(?:\s+(?:et|and)\s+(?:de\s+|d\s+|of\s+)?(.*))?$"
)


def parse_parentage(text: str) -> tuple[str | None, str | None]:
    """Father's and mother's names from "fils de X et de Y", "fille de X", "son of X and Y"."""
    folded = fold(text)
    found = _PARENTS.match(folded)
    if found is None:
        return (folded or None), None
    return found.group(1) or None, found.group(2) or None


@dataclass(frozen=True)
class Identity:
    """What identifies a person in court documents: names, birth and parentage."""

    name: str
    birth: Birth | None = None
    father: str | None = None
    mother: str | None = None
    aliases: tuple[str, ...] = ()


def index_key(master: bytes, purpose: str = "persons") -> bytes:
    """The blind index's key, derived from the master key (HMAC-SHA256 with a fixed label)."""
    return hmac.new(master, f"caseline blind index v1:{purpose}".encode(), hashlib.sha256).digest()


def _digest(key: bytes, kind: str, value: str) -> str:
    mac = hmac.new(key, f"{kind}:{value}".encode(), hashlib.sha256).hexdigest()[:16]
    return f"{kind}:{mac}"


@dataclass(frozen=True)
class Probe:
    """One digest a query looks for: its part, which query token (group) and how close (level).

    `echo`: a parent's token that is also one of the person's own names (the family name, which
    father, mother and child often share): it meets many parents and tells little.
    """

    part: str
    group: int
    level: float
    digest: str
    echo: bool = False


_EXACT, _SOUND, _TYPO = 1.0, 0.85, 0.55


def _name_plain(tokens: list[str], part: str) -> list[list[tuple[str, str, float]]]:
    """Per token: (kind, value, level) of its keys. Parts: n name, f father, m mother."""
    return [
        [(f"{part}x", t, _EXACT), (f"{part}s", sound_key(t), _SOUND)]
        + [(f"{part}t", k, _TYPO) for k in sorted(_typo_keys(t))]
        for t in tokens
    ]


def _plain(identity: Identity) -> list[tuple[str, str]]:
    tokens, patronyms = _split(identity.name)
    for alias in identity.aliases:
        tokens += _split(alias)[0]
    fathers = _split(identity.father)[0] if identity.father else []
    fathers += patronyms
    mothers = _split(identity.mother)[0] if identity.mother else []
    keys = [(k, v) for part, words in (("n", tokens), ("f", fathers), ("m", mothers))
            for group in _name_plain(words, part) for k, v, _ in group]  # fmt: skip
    sounds = sorted({sound_key(t) for t in tokens})
    keys += [("np", f"{a} {b}") for a, b in combinations(sounds, 2)]
    if identity.birth is not None:
        keys.append(("by", str(identity.birth.year)))
        if identity.birth.month and identity.birth.day:
            keys.append(("bd", f"{identity.birth.month}-{identity.birth.day}"))
    return keys


def person_digests(identity: Identity, key: bytes) -> frozenset[str]:
    """What the index stores for a person: `kind:digest` strings, no name in them."""
    return frozenset(_digest(key, kind, value) for kind, value in _plain(identity))


def query_probes(identity: Identity, key: bytes) -> tuple[Probe, ...]:
    """What a search looks for: the identity's digests, plus nearby years and a swapped date."""
    tokens, patronyms = _split(identity.name)
    fathers = (_split(identity.father)[0] if identity.father else []) + patronyms
    mothers = _split(identity.mother)[0] if identity.mother else []
    sounds = sorted({sound_key(t) for t in tokens})
    probes = [
        Probe(
            part, group, level, _digest(key, kind, value), part != "n" and sound_key(word) in sounds
        )
        for part, words in (("n", tokens), ("f", fathers), ("m", mothers))
        for group, (word, keys) in enumerate(zip(words, _name_plain(words, part), strict=True))
        for kind, value, level in keys
    ]
    probes += [
        Probe("np", 0, 1.0, _digest(key, "np", f"{a} {b}")) for a, b in combinations(sounds, 2)
    ]
    birth = identity.birth
    if birth is not None:
        for delta, level in ((0, 1.0), (-1, 0.6), (1, 0.6), (-2, 0.35), (2, 0.35)):
            probes.append(Probe("by", 0, level, _digest(key, "by", str(birth.year + delta))))
        if birth.month and birth.day:
            probes.append(Probe("bd", 0, 1.0, _digest(key, "bd", f"{birth.month}-{birth.day}")))
            if birth.day <= 12 and birth.day != birth.month:
                swapped = f"{birth.day}-{birth.month}"
                probes.append(Probe("bd", 0, 0.8, _digest(key, "bd", swapped)))
    return tuple(probes)


@dataclass(frozen=True)
class Match:
    """A candidate's score, its parts (name, birth, father, mother) and why, in words."""

    person_id: str
    score: float
    parts: Mapping[str, float] = field(default_factory=dict)
    reasons: tuple[str, ...] = ()


_WEIGHTS = {"n": 1.0, "b": 0.45, "f": 0.35, "m": 0.25}
_ECHO = 0.2  # a parent's token that repeats the person's own name weighs a fifth
_PARENT_RARITY = 6.0  # a parent's name this rare (log(1 + N / holders)) or rarer meets in full
_SAME_DATE = 1.4  # a birth date is 365 times more telling than a year
_PARENT_DIFFERS = -0.3  # both sides name the parent, and only the family name (or nothing) meets


# The reasons a person reads, in the request's language (shared/locale): marked here, translated
# when a match is explained.
_WORDS = {
    _EXACT: N_("{count} as written"),
    _SOUND: N_("{count} by sound"),
    _TYPO: N_("{count} one letter apart"),
}
_REASONS = {
    "n": N_("name: {met} of {tokens} tokens ({how})"),
    "f": N_("father's name: {met} of {tokens} tokens ({how})"),
    "m": N_("mother's name: {met} of {tokens} tokens ({how})"),
}
_REASONS_NONE_MET = {
    "f": N_("father's name: {met} of {tokens} tokens"),
    "m": N_("mother's name: {met} of {tokens} tokens"),
}


def _how(levels: list[float]) -> str:
    return ", ".join(translate(w, count=n) for v, w in _WORDS.items() if (n := levels.count(v)))


@dataclass
class _Token:
    """One query token: its weight (the sound key's rarity), whether it echoes the person's own
    name (parents only), and its digests from the closest level down."""

    weight: float
    echo: bool
    digests: list[tuple[str, float]]


def _kinds(held: Iterable[str]) -> Counter[str]:
    return Counter(d[:3] for d in held)


class Scorer:
    """A query's probes arranged once, to score many candidates (see `score`)."""

    def __init__(self, probes: Iterable[Probe], weight: Mapping[str, float]) -> None:
        tokens: dict[tuple[str, int], _Token] = {}
        self.years: list[tuple[str, float]] = []
        self.dates: list[tuple[str, float]] = []
        for p in probes:
            if p.part in ("n", "f", "m"):
                token = tokens.setdefault((p.part, p.group), _Token(1.0, False, []))
                token.digests.append((p.digest, p.level))
                if p.level == _SOUND:
                    token.weight = weight.get(p.digest, 1.0) * (_ECHO if p.echo else 1.0)
                    token.echo = p.echo
            elif p.part == "by":
                self.years.append((p.digest, p.level))
            elif p.part == "bd":
                self.dates.append((p.digest, p.level))
        self.parts: dict[str, list[_Token]] = defaultdict(list)
        for (part, _), token in sorted(tokens.items()):
            token.digests.sort(key=lambda d: -d[1])
            self.parts[part].append(token)
        # Where each digest counts: (part, the token's place, level), so that a candidate's
        # tokens are met by one pass over what it holds; a token meets at its best level held.
        self._where: dict[str, list[tuple[str, int, float]]] = defaultdict(list)
        for part, part_tokens in self.parts.items():
            for place, token in enumerate(part_tokens):
                for digest, level in token.digests:
                    self._where[digest].append((part, place, level))
        self._totals = {
            part: sum(t.weight for t in part_tokens) or 1.0
            for part, part_tokens in self.parts.items()
        }

    def __call__(
        self,
        held: frozenset[str],
        kinds: Mapping[str, int] | None = None,
        *,
        explain: bool = True,
    ) -> Match:
        """The match; `kinds`: how many digests of each kind (`ns:`, `by:`…) `held` has.

        `explain=False` leaves the reasons out (the score and parts are the same): a search
        scores its whole pool, and explains only the matches it answers."""
        kinds = kinds if kinds is not None else _kinds(held)
        met_at = {part: [0.0] * len(tokens) for part, tokens in self.parts.items()}
        where = self._where
        for digest in held:
            for part, place, level in where.get(digest, ()):
                levels = met_at[part]
                if level > levels[place]:
                    levels[place] = level
        parts: dict[str, float] = {}
        reasons: list[str] = []
        for part in _REASONS:
            tokens = self.parts.get(part)
            if not tokens:
                continue
            best = met_at[part]
            total = self._totals[part]
            if part != "n":
                total = max(total, _PARENT_RARITY)
            share = sum(t.weight * b for t, b in zip(tokens, best, strict=True)) / total
            met = [b for b in best if b]
            count = kinds.get(f"{part}s:", 0)
            if part == "n":
                parts[part] = 0.75 * share + 0.25 * (len(met) / count if count else 0.0)
            elif count:
                telling = [b for t, b in zip(tokens, best, strict=True) if not t.echo] or best
                parts[part] = share if any(telling) else _PARENT_DIFFERS
            else:
                continue
            if explain:
                reasons.append(_reason(part, len(met), len(tokens), met))
        birth, why = self._birth(held, kinds, explain)
        if why is not None:
            parts["b"] = birth
            if explain:
                reasons.append(why)
        total = sum(_WEIGHTS[p] * v for p, v in parts.items())
        return Match("", round(total, 4), parts, tuple(reasons))

    def rank(
        self,
        candidates: Iterable[tuple[str, frozenset[str], Mapping[str, int] | None]],
        limit: int,
        threshold: float,
        admit: Callable[[list[str]], Collection[str]] | None = None,
    ) -> list[Match]:
        """The best `limit` of `(person_id, held, kinds)` scoring at least `threshold`, best
        first, and those tying with the last of them (a tie is not broken by an arbitrary
        order); only these are explained. `admit`, given the persons over the threshold, names
        those that may be answered: the best are chosen among them."""
        scored = []
        for person, held, kinds in candidates:
            score = self(held, kinds, explain=False).score
            if score >= threshold:
                scored.append((-score, person, held, kinds))
        scored.sort(key=lambda c: (c[0], c[1]))
        if admit is not None:
            admitted = admit([c[1] for c in scored])
            scored = [c for c in scored if c[1] in admitted]
        if limit <= 0:
            return []
        if len(scored) > limit:
            last = scored[limit - 1][0]
            scored = [c for i, c in enumerate(scored) if i < limit or c[0] == last]
        matches = []
        for _, person, held, kinds in scored:
            found = self(held, kinds)
            matches.append(Match(person, found.score, found.parts, found.reasons))
        return matches

    def _birth(
        self, held: frozenset[str], kinds: Mapping[str, int], explain: bool = True
    ) -> tuple[float, str | None]:
        """The birth part and why ("" unexplained), or None for a why when it does not count."""
        if not self.years or not kinds.get("by:"):
            return 0.0, None
        year = max((level for d, level in self.years if d in held), default=0.0)
        day = (
            max((level for d, level in self.dates if d in held), default=0.0)
            if year == 1.0
            else 0.0
        )
        if year == 0.0:
            value = -0.6
        elif day:
            value = _SAME_DATE * day
        else:
            value = 0.7 * year
        return value, _birth_reason(year, day) if explain else ""


def _birth_reason(year: float, day: float) -> str:
    """Why the birth part is what it is, in the request's language."""
    if year == 0.0:
        return translate("birth years more than two apart")
    if day:
        return (
            translate("same date of birth")
            if day == 1.0
            else translate("date, day and month swapped")
        )
    if year == 1.0:
        return translate("same birth year")
    return translate("birth years {years} apart", years=2 if year < 0.5 else 1)


def _reason(part: str, met: int, tokens: int, levels: list[float]) -> str:
    """Why a name or a parent's name met as it did, in the request's language."""
    if part == "n":
        how = _how(levels) or translate("none")
        return translate(_REASONS[part], met=met, tokens=tokens, how=how)
    if met:
        return translate(_REASONS[part], met=met, tokens=tokens, how=_how(levels))
    return translate(_REASONS_NONE_MET[part], met=met, tokens=tokens)


def score(
    probes: Iterable[Probe], held: frozenset[str], weight: Mapping[str, float] | None = None
) -> Match:
    """Score one candidate's digests against a query's probes; `weight` per digest (rarer more).

    The name part mixes the weighted share of the query's tokens found (three quarters) with the
    share of the candidate's tokens met (a quarter); birth and parents add or subtract. A parent's
    token that repeats the person's own name (the family name) weighs a fifth, and a parent named
    on both sides of whom only such tokens meet counts against.
    """
    return Scorer(probes, weight or {})(held)


@dataclass(frozen=True)
class RoughGain:
    """What holding one digest adds to a person's rough rank (`rough_gains`): `group` is the
    query token it stands for (a person counts a name token once, at its best level), `name`
    whether it is a name or parent's token (a birth digest adds only to a person some name met)."""

    digest: str
    group: int
    gain: float
    name: bool


def rough_gains(probes: Iterable[Probe], weight: Mapping[str, float]) -> list[RoughGain]:
    """The rough rank a search gathers candidates by, as a table of gains per digest: a person's
    rough rank is, over the query's name and parent tokens, the best gain among the token's
    digests the person holds, plus, for a person some token met, the gain of each birth digest
    held. What `BlindIndex` and the registry's table (services/intake) both rank by."""
    groups: dict[tuple[str, int], list[Probe]] = defaultdict(list)
    births: list[Probe] = []
    for p in probes:
        if p.part in ("n", "f", "m"):
            groups[p.part, p.group].append(p)
        elif p.part in ("by", "bd"):
            births.append(p)
    worth: dict[tuple[str, int], float] = {}  # as in `score`: the sound key's rarity
    totals: dict[str, float] = defaultdict(float)
    for (part, group), mine in groups.items():
        sound = next(p for p in mine if p.level == _SOUND)
        worth[part, group] = weight[sound.digest] * (_ECHO if sound.echo else 1.0)
        totals[part] += worth[part, group]
    for part in ("f", "m"):
        totals[part] = max(totals[part], _PARENT_RARITY)
    gains: list[RoughGain] = []
    for number, ((part, group), mine) in enumerate(groups.items()):
        share = _WEIGHTS[part] * (0.75 if part == "n" else 1.0) * worth[part, group]
        share /= totals[part] or 1.0
        gains += [RoughGain(p.digest, number, share * p.level, True) for p in mine]
    for number, p in enumerate(births, start=len(groups)):
        gain = _WEIGHTS["b"] * (0.7 if p.part == "by" else _SAME_DATE - 0.7) * p.level
        gains.append(RoughGain(p.digest, number, gain, False))
    return gains


class BlindIndex:
    """An in-memory blind index (the reference for a table of `(person_id, digest)` rows).

    A search gathers the persons holding any of the query's name or parent digests and ranks them
    roughly as `score` would (each query token counted once, at the best level a person meets it,
    weighted by rarity; the birth year and date added), then scores the best `pool` in full.
    """

    def __init__(self, key: bytes) -> None:
        self.key = key
        self.held: dict[str, frozenset[str]] = {}
        self.postings: dict[str, set[str]] = defaultdict(set)
        self.kinds: dict[str, Counter[str]] = {}

    def add(self, person_id: str, identity: Identity) -> None:
        digests = person_digests(identity, self.key)
        self.held[person_id] = self.held.get(person_id, frozenset()) | digests
        self.kinds[person_id] = _kinds(self.held[person_id])
        for d in digests:
            self.postings[d].add(person_id)

    def rarity(self, digest: str) -> float:
        """log(1 + N / persons holding it): a key everyone holds tells little."""
        return math.log(1 + (1 + len(self.held)) / (1 + len(self.postings.get(digest, ()))))

    def _rough(self, probes: tuple[Probe, ...], weight: Mapping[str, float]) -> dict[str, float]:
        gains = rough_gains(probes, weight)
        best: dict[tuple[str, int], float] = {}
        for gain in (g for g in gains if g.name):
            for person in self.postings.get(gain.digest, ()):
                best[person, gain.group] = max(best.get((person, gain.group), 0.0), gain.gain)
        rough: dict[str, float] = defaultdict(float)
        for (person, _), value in best.items():
            rough[person] += value
        for gain in (g for g in gains if not g.name):
            for person in self.postings.get(gain.digest, set()).intersection(rough):
                rough[person] += gain.gain
        return rough

    def search(
        self, identity: Identity, limit: int = 5, pool: int = 200, threshold: float = 0.0
    ) -> list[Match]:
        """The best `limit` candidates scoring at least `threshold`, best first, and those tying
        with the last of them: a tie is not broken by an arbitrary order."""
        probes = query_probes(identity, self.key)
        weight = {p.digest: self.rarity(p.digest) for p in probes}
        rough = self._rough(probes, weight)
        pool_of = sorted(rough, key=rough.__getitem__, reverse=True)[:pool]
        return Scorer(probes, weight).rank(
            ((p, self.held[p], self.kinds[p]) for p in pool_of), limit, threshold
        )
