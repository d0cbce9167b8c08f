"""Generated persons of the Sahel and the ways registrars write them, to measure name matching.

Each name is listed with the spellings met in records (French-style transcriptions, English ones,
accents or not) and, where registrars write it in Arabic script, its Arabic spelling. A person is
drawn from one naming tradition (Songhai, Fulani, Tuareg, Arab, Bambara, Hausa) with parents and a
birth date (some only an estimated year); `written` renders them as one registrar would.
"""

from __future__ import annotations

import random
from dataclasses import dataclass

from shared.kit.names import Birth, Identity

# name: "Spelling|other,spellings|Arabic" — the first spelling is the usual one.
_NAMES = """
moussa: Moussa|Musa,Mousa,Moussa|موسى
mohamed: Mohamed|Mohammed,Muhammad,Mouhamed,Mohamad,Mahamat|محمد
mamadou: Mamadou|Mamadou,Mahamadou,Mohamadou|محمد
ahmed: Ahmed|Ahmad,Ahmet,Ahmat|أحمد
amadou: Amadou|Ahmadou,Hamadou,Amadu|أحمد
boubacar: Boubacar|Aboubacar,Aboubakar,Abubakar,Boubakar,Abou Bakr|أبو بكر
ousmane: Ousmane|Usman,Othmane,Osmane,Ousman,Oussmane|عثمان
ibrahim: Ibrahim|Ibrahima,Brahim,Ibrahime,Ibrahim|إبراهيم
abdoulaye: Abdoulaye|Abdoulahi,Abdullahi,Abdallah,Abdoulay|عبد الله
abdelkader: Abdelkader|Abdoul Kader,Abdulkadir,Abdel Kader,Abd al-Qadir|عبد القادر
abderrahmane: Abderrahmane|Abdourahamane,Abdul Rahman,Abdrahmane,Abdourahmane|عبد الرحمن
oumar: Oumar|Omar,Umar,Oumarou,Umaru|عمر
souleymane: Souleymane|Sulayman,Suleiman,Souleimane,Soulemane|سليمان
youssouf: Youssouf|Yusuf,Youssef,Yousouf,Issoufou|يوسف
aliou: Aliou|Ali,Aly,Alou,Aliyu|علي
hamidou: Hamidou|Hamid,Hamido,Amidou|حميد
idrissa: Idrissa|Idriss,Drissa,Idris|إدريس
yacouba: Yacouba|Yakouba,Yaqub,Yacoub,Yakuba|يعقوب
hassane: Hassane|Hassan,Hasane,Assane|حسن
alassane: Alassane|Al Hassane,Alhassane,Alasane|الحسن
issa: Issa|Isa,Issiaka,Aissa|عيسى
seydou: Seydou|Seidou,Saidou,Sidi|سيدي
bakary: Bakary|Bakari,Bakar,Boubacar|بكر
modibo: Modibo|Modibo,Modibbo
adama: Adama|Adam,Adama|آدم
lassana: Lassana|Lassina,Lansana
hamma: Hamma|Hama,Amma|حمة
soumaila: Soumaïla|Soumaila,Ismaila,Ismail|إسماعيل
garba: Garba|Garba,Gharba|غربا
sani: Sani|Sani,Saani|ساني
lawali: Lawali|Lawal,Laouali,Lawwali|لوالي
chaibou: Chaïbou|Chaibou,Shuaibu,Chouaïbou,Shaibu|شعيب
zakari: Zakari|Zakaria,Zakariya,Zakary|زكريا
mokhtar: Mokhtar|Moctar,Mukhtar,Mouktar,Mohktar|مختار
iyad: Iyad|Iyad,Yad,Eyad|إياد
bilal: Bilal|Bilal,Bilali|بلال
attaher: Attaher|Ataher,At-Taher,Attahir,Tahirou|الطاهر
rhissa: Rhissa|Ghissa,Rissa,Rhissa|غيسى
alghabass: Alghabass|Alghabas,Algabass,Al Ghabass|الغباس
intallah: Intallah|Intalla,Intala,Intalah|انتالا
lemine: Lemine|Lamine,El Amine,Al-Amine,Lamin|الأمين
acherif: Acherif|Ascharif,Achérif,Cherif,Chérif|الشريف
aissata: Aïssata|Aissata,Aïcha,Aicha,Aisha,Aïssatou|عائشة
fatoumata: Fatoumata|Fatimata,Fatouma,Fatima,Fatma,Fadimata|فاطمة
mariam: Mariam|Mariama,Maryam,Mariame,Meriem|مريم
kadidia: Kadidia|Kadiatou,Khadija,Khadidja,Hadiza,Kadija|خديجة
zeinabou: Zeinabou|Zénabou,Zaynab,Zeynab,Zeinab,Djenabou|زينب
hawa: Hawa|Haoua,Awa,Hawaou,Haouwa|حواء
aminata: Aminata|Aminatou,Amina,Aminah|آمنة
oumou: Oumou|Oumou,Umm,Oummou|أم
rakia: Rakia|Rakiya,Ruqayya,Rokia,Rokiatou|رقية
salimata: Salimata|Salamata,Salima,Salimatou|سليمة
safiatou: Safiatou|Safiya,Safia,Safiyatou|صفية
balkissa: Balkissa|Balkisa,Bilkisu,Balqis|بلقيس
lalla: Lalla|Lala,Lalla|لالة
fanta: Fanta|Fanta,Fantani
djeneba: Djénéba|Djeneba,Jeneba,Zeneba|زينب
habsatou: Habsatou|Hapsatou,Habsa,Hafsa|حفصة
maiga: Maïga|Maiga,Maïga,Mayga|مايغا
toure: Touré|Toure,Ture,Tourey|توري
cisse: Cissé|Cisse,Sissé,Sisse,Cissey|سيسي
haidara: Haïdara|Haidara,Aidara,Haydara|حيدرة
dicko: Dicko|Diko,Dikko,Dicko|ديكو
diallo: Diallo|Jallo,Djallo,Diallo|جالو
barry: Barry|Bari,Barry,Bary|باري
sow: Sow|Sow,Sao,Soh|صو
bah: Bah|Ba,Bah|با
sidibe: Sidibé|Sidibe,Sidibey,Cidibé|سيديبي
sangare: Sangaré|Sangare,Sangari,Sangaret|سنغاري
traore: Traoré|Traore,Traouré,Tarawaly,Trawore|تراوري
coulibaly: Coulibaly|Kulibali,Koulibaly,Coulibali|كوليبالي
keita: Keïta|Keita,Kéita,Keyta|كيتا
diarra: Diarra|Jara,Diara,Djarra|ديارا
konate: Konaté|Konate,Konatey|كوناتي
kone: Koné|Kone,Konè|كوني
doumbia: Doumbia|Dumbia,Doumbiya,Doumbya|دومبيا
dembele: Dembélé|Dembele,Dembelé|دمبيلي
samake: Samaké|Samake,Samaké|ساماكي
sanogo: Sanogo|Sanogho,Sanogo|سانوغو
ansari: Al-Ansari|Ansari,El Ansari,Alansari|الأنصاري
kounta: Kounta|Kunta,Kounta|كنتة
issoufou: Issoufou|Issoufou,Isoufou|يوسف
mahamane: Mahamane|Mahaman,Mamane,Mahamman|محمد
habibou: Habibou|Habibu,Habib,Abibou|حبيب
abdou: Abdou|Abdou,Abdu,Abdo|عبدو
sekou: Sékou|Sekou,Sékouba,Sekouba,Seku|سيكو
salif: Salif|Salifou,Saliffou,Salifu
boureima: Boureima|Bourema,Boureïma,Bouraima,Boureyma
hamadoun: Hamadoun|Hamadoune,Amadoun,Hamadun
allaye: Allaye|Alaye,Allay,Allahi
baba: Baba|Babah,Baaba|بابا
daouda: Daouda|Dawuda,Daoud,Dawud,Daouada|داود
nouhoum: Nouhoum|Nouhoun,Nuhu,Nouh,Nouhou|نوح
siaka: Siaka|Syaka,Siyaka,Sieka
tiemoko: Tiémoko|Tiemoko,Tiemogo,Tiémogo
mahmoud: Mahmoud|Mahamoud,Mahmud,Mahmoudou,Mamoud|محمود
kalilou: Kalilou|Khalilou,Khalil,Halilou,Kalil|خليل
tidiane: Tidiane|Tidjane,Tijani,Tidjani|التجاني
cheick: Cheick|Cheikh,Sheikh,Chekh,Cheik|شيخ
samba: Samba|Sambou,Samba
demba: Demba|Dembo,Demba
harouna: Harouna|Haroun,Harun,Arouna,Harounah|هارون
ousseini: Ousseini|Housseini,Husseini,Hussein,Housseyni|حسين
zeidane: Zeidane|Zidane,Zaydan,Zeydane|زيدان
elmehdi: El Mehdi|Mahdi,Elmahdi,Al-Mahdi,Mehdi|المهدي
aghaly: Aghaly|Aghali,Agali,Aghaly|أغلي
salissou: Salissou|Salisu,Salissu,Salissou
tanko: Tanko|Tankou,Tanko
yahaya: Yahaya|Yahya,Yaya,Yahaia|يحيى
moumouni: Moumouni|Mumuni,Moumoune,Moumouny
abdoulkarim: Abdoulkarim|Abdelkarim,Abdul Karim,Abdoul Karim|عبد الكريم
abdoulaziz: Abdoulaziz|Abdelaziz,Abdul Aziz,Abdoul Aziz|عبد العزيز
assetou: Assétou|Assetou,Asseto,Assatou
ramatou: Ramatou|Ramata,Rahmatou,Ramatoulaye|رحمة
nana: Nana|Nanah,Nana
coumba: Coumba|Koumba,Kumba,Coumba
bintou: Bintou|Binta,Bintu,Bintou
maimouna: Maïmouna|Maimouna,Maymuna,Mamouna|ميمونة
nafissatou: Nafissatou|Nafissa,Nafisa,Nefissa|نفيسة
halima: Halima|Halimatou,Alima,Halimata|حليمة
hadjara: Hadjara|Hajara,Hadiara,Hajar|هاجر
tenin: Tenin|Ténin,Teninba
korotoumou: Korotoumou|Korotimi,Korotoumou
mbarka: Mbarka|Embarka,Barka,M'barka|مباركة
selma: Selma|Salma,Selmah|سلمى
tina: Tina|Tinna,Tinah
yattara: Yattara|Yatara,Yattara|ياتارا
ascofare: Ascofaré|Askofare,Askofaré,Ascofare|أسكوفاري
tandina: Tandina|Tandian,Tandina
bocoum: Bocoum|Bokoum,Bokum,Bocoum
kane: Kane|Kan,Kanè
diakite: Diakité|Diakite,Jakite,Diakhité|دياكيتي
boly: Boly|Boli,Bolly
tall: Tall|Tal,Tall
camara: Camara|Kamara,Camarah|كامارا
fofana: Fofana|Fofanah,Fofona|فوفانا
sissoko: Sissoko|Cissoko,Sisoko,Sissokho|سيسوكو
kante: Kanté|Kante,Kantè|كانتي
ballo: Ballo|Balo,Ballo
bagayoko: Bagayoko|Bagayogo,Bagayokho
guindo: Guindo|Gindo,Guindo
sylla: Sylla|Silla,Sila|سيلا
bamba: Bamba|Banba,Bamba
konare: Konaré|Konare,Konarè|كوناري
mariko: Mariko|Maricko,Mariko
diabate: Diabaté|Diabate,Jabate,Diabatè|دياباتي
hamani: Hamani|Hamany,Amani
boube: Boubé|Boube,Boubè
tilemsi: Tilemsi|Tilemsy,Al Tilemsi,Tilimsi|التلمسي
"""


@dataclass(frozen=True)
class Name:
    key: str
    usual: str
    spellings: tuple[str, ...]
    arabic: str | None


def _names() -> dict[str, Name]:
    found = {}
    for line in _NAMES.strip().splitlines():
        key, rest = line.split(": ")
        usual, spellings, *arabic = rest.split("|")
        found[key] = Name(key, usual, (usual, *spellings.split(",")), arabic[0] if arabic else None)
    return found


NAMES = _names()

# tradition: male given names, female given names, family names (or the patronymic particles),
# commonest first. The first names of each list are the 80 the generator drew from at first
# ("narrow" pools, drawn evenly); "wide" pools add the others, still drawn from from the commonest
# down (weight 1/rank^0.7: the first name of a list is borne by one person in six or seven, as
# Traoré among the Bambara or Mamadou among the Fulani).
_TRADITIONS = {
    "songhai": (
        "moussa hamma soumaila alassane boubacar mamadou amadou issa aliou seydou",
        "aissata fatoumata mariam zeinabou hawa aminata salimata",
        "maiga toure cisse haidara dicko",
    ),
    "fulani": (
        "amadou boubacar oumar ousmane abdoulaye mamadou ibrahim hamidou souleymane aliou",
        "kadidia fatoumata aissata mariam djeneba oumou hawa habsatou",
        "diallo barry sow bah dicko sidibe sangare cisse",
    ),
    "tuareg": (
        "mohamed ahmed alghabass iyad bilal rhissa attaher moussa intallah acherif",
        "fatoumata lalla mariam aissata zeinabou safiatou",
        "ag",
    ),
    "arab": (
        "mohamed mokhtar ahmed lemine oumar abdelkader abderrahmane youssouf hamidou",
        "aissata fatoumata kadidia mariam zeinabou rakia",
        "ould",
    ),
    "bambara": (
        "moussa seydou bakary modibo adama idrissa souleymane mamadou yacouba lassana",
        "hawa aminata kadidia fanta oumou djeneba salimata rakia",
        "traore coulibaly keita diarra konate kone doumbia dembele samake sanogo",
    ),
    "hausa": (
        "abdoulaye ibrahim mahamane ousmane yacouba hassane moussa issa chaibou zakari garba sani",
        "kadidia zeinabou rakia mariam balkissa safiatou habsatou",
        "issoufou garba sani abdou lawali habibou mahamane oumar",
    ),
}
_WIDER = {
    "songhai": (
        "boureima hamadoun allaye baba daouda harouna ousseini sekou oumar ibrahim mahmoud"
        " abdoulaye yahaya mohamed",
        "assetou ramatou nana maimouna halima hadjara kadidia djeneba oumou safiatou",
        "yattara ascofare tandina traore",
    ),
    "fulani": (
        "boureima hamadoun allaye samba demba tidiane cheick nouhoum yacouba moussa harouna"
        " sekou alassane mohamed issa",
        "coumba ramatou nana maimouna bintou assetou halima nafissatou salimata",
        "bocoum kane diakite boly tall",
    ),
    "tuareg": (
        "aghaly elmehdi zeidane mahmoud cheick baba ibrahim alassane ousmane abdoulkarim"
        " youssouf hamma attaher",
        "tina halima mbarka selma nana aminata hadjara",
        "ag",
    ),
    "arab": (
        "elmehdi zeidane mahmoud cheick baba tidiane yahaya daouda harouna abdoulaziz"
        " abdoulkarim ibrahim moussa",
        "mbarka selma halima maimouna nafissatou hadjara lalla safiatou",
        "ould",
    ),
    "bambara": (
        "sekou salif siaka tiemoko kalilou nouhoum daouda boureima harouna moumouni ousmane"
        " issa oumar",
        "assetou ramatou nana coumba bintou tenin korotoumou maimouna mariam",
        "camara diakite fofana sissoko kante ballo bagayoko guindo sylla bamba konare mariko"
        " diabate sidibe",
    ),
    "hausa": (
        "salissou tanko yahaya moumouni ousseini harouna hamani boube daouda nouhoum abdoulaziz"
        " abdoulkarim mahmoud",
        "halima hadjara ramatou nafissatou maimouna fatoumata aminata",
        "hamani boube salissou tanko moussa ibrahim ousmane hassane",
    ),
}
_FAMILY_OF_ARABS = ["ansari", "kounta"]
_WIDER_FAMILY_OF_ARABS = ["tilemsi"]


def _pools(wide: bool) -> dict[str, tuple[list[str], list[str], list[str], list[str]]]:
    """Per tradition: male, female and family names, and the Arab families; wide or narrow."""
    pools = {}
    for tradition, lists in _TRADITIONS.items():
        wider = _WIDER[tradition] if wide else ("", "", "")
        males, females, families = (
            list(dict.fromkeys(a.split() + b.split())) for a, b in zip(lists, wider, strict=True)
        )
        arabs = _FAMILY_OF_ARABS + (_WIDER_FAMILY_OF_ARABS if wide else [])
        pools[tradition] = (males, females, families, arabs)
    return pools


def _draw(rng: random.Random, names: list[str], wide: bool) -> str:
    if not wide:
        return rng.choice(names)
    return rng.choices(names, weights=[1 / (rank + 1) ** 0.7 for rank in range(len(names))])[0]


@dataclass(frozen=True)
class Person:
    """A person as they are: names as keys of NAMES, birth, parents' names."""

    id: str
    tradition: str
    given: tuple[str, ...]
    family: tuple[str, ...]  # a family name, or ("ag"/"ould"/…, father's name)
    birth: Birth
    father: tuple[str, ...]
    mother: tuple[str, ...]


def _person(rng: random.Random, number: int, wide: bool = True) -> Person:
    tradition = rng.choice(list(_TRADITIONS))
    males, females, families, arabs = _pools(wide)[tradition]
    female = rng.random() < 0.3
    given = [_draw(rng, females if female else males, wide)]
    if rng.random() < 0.25:
        given.append(_draw(rng, males if tradition in ("arab", "tuareg") else given, wide))
    father_given = _draw(rng, males, wide)
    grandfather = _draw(rng, males, wide)
    if families == ["ag"] or families == ["ould"]:
        particle = (
            ("walet" if female else "ag") if families == ["ag"] else "mint" if female else "ould"
        )
        family: tuple[str, ...] = (particle, father_given)
        if tradition == "arab" and rng.random() < 0.4:
            family = (_draw(rng, arabs, wide),)
        father: tuple[str, ...] = (
            father_given,
            "ag" if families == ["ag"] else "ould",
            grandfather,
        )
    else:
        family = (_draw(rng, families, wide),)
        father = (father_given, *family)
    mother_family = _draw(rng, families, wide)
    mother = (_draw(rng, females, wide),) + (
        () if mother_family in ("ag", "ould") else (mother_family,)
    )
    year = rng.randint(1960, 2008)
    birth = (
        Birth(year, estimated=True)
        if rng.random() < 0.35
        else Birth(year, rng.randint(1, 12), rng.randint(1, 28))
    )
    return Person(
        f"p{number:06d}", tradition, tuple(dict.fromkeys(given)), family, birth, father, mother
    )


def persons(count: int, seed: int = 7, wide: bool = True) -> list[Person]:
    """`count` persons; `wide` pools (about 200 names, the commonest most often) or the narrow
    80 names drawn evenly, where homonyms are denser than in the field."""
    rng = random.Random(seed)
    return [_person(rng, n, wide) for n in range(count)]


_PARTICLES_AR = {"ag": "آغ", "ould": "ولد", "walet": "ولت", "mint": "منت"}
_KEYBOARD = "azertyuiopqsdfghjklmwxcvbn"


def _typo(rng: random.Random, word: str) -> str:
    if len(word) < 4:
        return word
    i = rng.randrange(1, len(word) - 1)
    edit = rng.choice(("delete", "insert", "replace", "swap"))
    if edit == "delete":
        return word[:i] + word[i + 1 :]
    if edit == "insert":
        return word[:i] + rng.choice(_KEYBOARD) + word[i:]
    if edit == "replace":
        return word[:i] + rng.choice(_KEYBOARD) + word[i + 1 :]
    return word[: i - 1] + word[i] + word[i - 1] + word[i + 1 :]


def _write_name(rng: random.Random, keys: tuple[str, ...], arabic: bool, vary: float) -> list[str]:
    words = []
    for key in keys:
        if key in _PARTICLES_AR:
            words.append(_PARTICLES_AR[key] if arabic else rng.choice((key.title(), key)))
            continue
        name = NAMES[key]
        if arabic and name.arabic:
            words.append(name.arabic)
        else:
            words.append(rng.choice(name.spellings) if rng.random() < vary else name.usual)
    return words


def written(person: Person, rng: random.Random, vary: float = 0.6) -> Identity:
    """The person as one registrar writes them: spellings, script, order, particles, typos."""
    arabic = rng.random() < 0.15
    given = _write_name(rng, person.given, arabic, vary)
    family_keys = person.family
    if family_keys[0] in _PARTICLES_AR and rng.random() < 0.3:
        family_keys = family_keys[1:]  # the particle dropped
    family = _write_name(rng, family_keys, arabic, vary)
    if not arabic and rng.random() < 0.4:
        family = [w.upper() for w in family]
    if not arabic and rng.random() < 0.15:
        family = ["El", *family] if rng.random() < 0.5 else family
    words = family + given if rng.random() < 0.35 else given + family
    if not arabic and rng.random() < 0.2:
        i = rng.randrange(len(words))
        words[i] = _typo(rng, words[i])
    father = mother = None
    if rng.random() < 0.75:
        father = " ".join(_write_name(rng, person.father, arabic, vary))
    if rng.random() < 0.55:
        mother = " ".join(_write_name(rng, person.mother, arabic, vary))
    return Identity(" ".join(words), _write_birth(rng, person.birth), father, mother)


def _write_birth(rng: random.Random, birth: Birth) -> Birth | None:
    draw = rng.random()
    if draw < 0.15:
        return None
    if birth.estimated:
        return Birth(birth.year + rng.choice((-1, 0, 0, 0, 1)), estimated=True)
    if draw < 0.35:
        return Birth(birth.year)
    if draw < 0.37 and birth.month and birth.day and birth.day <= 12:
        return Birth(birth.year, birth.day, birth.month)  # day and month swapped
    return birth


def corpus(
    registered: int, searched: int, strangers: int, seed: int = 7, wide: bool = True
) -> tuple[dict[str, Identity], list[tuple[Identity, str | None]]]:
    """A registry of `registered` persons as first written, and searches: `searched` later
    records of registered persons (with the person's id) and `strangers` records of others (None).
    `wide`: the name pools (see `persons`).
    """
    people = persons(registered + strangers, seed, wide)
    rng = random.Random(seed + 1)
    registry = {p.id: written(p, rng) for p in people[:registered]}
    queries: list[tuple[Identity, str | None]] = [
        (written(p, rng), p.id) for p in rng.choices(people[:registered], k=searched)
    ]
    queries += [(written(p, rng), None) for p in people[registered:]]
    rng.shuffle(queries)
    return registry, queries
