r"""Write the land outlines the report's map draws (``scenarios/reports/data/land.json``).

Source: Natural Earth's 1:110m admin-0 countries (public domain, naturalearthdata.com), as the
``naturalearth_lowres`` shapefile that geopandas 0.14 shipped. Run once, when the file is to be
made again (it is committed; nothing reads the shapefile at run time)::

    pip download geopandas==0.14.4 --no-deps -d /tmp/ne
    unzip -o /tmp/ne/geopandas-0.14.4-py3-none-any.whl \\
        'geopandas/datasets/naturalearth_lowres/*' -d /tmp/ne
    pip install pyshp
    python tools/make_land.py /tmp/ne/geopandas/datasets/naturalearth_lowres/naturalearth_lowres

Each country becomes its rings of (longitude, latitude) rounded to 0.01 degree, with its ISO
3166-1 alpha-3 code and name, so the map can shade the countries that take part.
"""

from __future__ import annotations

import itertools
import json
import sys
from pathlib import Path

import shapefile  # pyshp: a tool-time dependency only

OUT = Path(__file__).resolve().parent.parent / "scenarios" / "reports" / "data" / "land.json"


def main(source: str) -> None:
    """Convert the shapefile at ``source`` (path without extension) to the map's JSON."""
    reader = shapefile.Reader(source)
    countries = []
    for shape_record in reader.iterShapeRecords():
        shape, record = shape_record.shape, shape_record.record.as_dict()
        starts = [*shape.parts, len(shape.points)]
        rings = [
            [[round(x, 2), round(y, 2)] for x, y in shape.points[a:b]]
            for a, b in itertools.pairwise(starts)
        ]
        countries.append({"iso3": record["iso_a3"], "name": record["name"], "rings": rings})
    document = {
        "source": "Natural Earth 1:110m admin-0 countries (public domain), naturalearthdata.com",
        "countries": countries,
    }
    OUT.write_text(json.dumps(document, separators=(",", ":")) + "\n", encoding="utf-8")
    print(f"{OUT}: {len(countries)} countries, {OUT.stat().st_size:,} bytes")


if __name__ == "__main__":
    main(sys.argv[1])
