"""The zip's layout and GTFS-Flex `locations.geojson`; learnt from MobilityData/gtfs-validator's
GtfsInput (core/src/main/java/org/mobilitydata/gtfsvalidator/input/GtfsInput.java: GTFS files in a
subfolder), GeoJsonFileLoader, GtfsGeoJsonFeaturesContainer (main/.../table/) and
GeoJsonGeometryValidator (main/.../util/geojson/). Geometry validity is shapely's (GEOS, the C++
port of the JTS library MobilityData uses)."""

from __future__ import annotations

import json
import zipfile
from pathlib import Path
from typing import Any

from platform_assets.lib.deferred import np
from platform_assets.lib.quality.check import short
from platform_assets.lib.quality.result import Level
from platform_assets.quality.gtfs.notices import ERROR, Findings, rule
from platform_assets.quality.gtfs.schema import KNOWN_FILES

SUBFOLDER = rule("invalid_input_files_in_subfolder", ERROR, "files", "GTFS files are at the zip's root, not in a subfolder", Level.DATASET)
MALFORMED_JSON = rule("malformed_json", ERROR, "files", "locations.geojson is a JSON object", Level.DATASET)
GEOJSON_TYPE = rule("unsupported_geo_json_type", ERROR, "files", "locations.geojson is a FeatureCollection", Level.DATASET)
MISSING_ELEMENT = rule("missing_required_element", ERROR, "files",
                       "locations.geojson and each feature have their required members (type, features; id, type, properties, geometry)", Level.ITEM)
FEATURE_TYPE = rule("unsupported_feature_type", ERROR, "files", "every GeoJSON feature has type Feature", Level.ITEM)
GEOMETRY_TYPE = rule("unsupported_geometry_type", ERROR, "files", "every GeoJSON geometry is a Polygon or MultiPolygon", Level.ITEM)
INVALID_GEOMETRY = rule("invalid_geometry", ERROR, "files", "every GeoJSON polygon is a valid polygon (closed rings, no self-intersection)", Level.ITEM)
DUPLICATED_ELEMENT = rule("geo_json_duplicated_element", ERROR, "files", "no JSON object of locations.geojson repeats a member name", Level.DATASET)
DUPLICATE_FEATURE_ID = rule("duplicate_geo_json_key", ERROR, "files", "GeoJSON feature ids are unique", Level.ITEM)

GEOJSON = "locations.geojson"
MAX_GEOJSON_BYTES = 256 << 20  # read whole (as MobilityData does); larger is reported, not parsed


class _DuplicateKey(Exception):
    def __init__(self, key: str) -> None:
        super().__init__(key)
        self.key = key


def _no_duplicates(pairs: list[tuple[str, Any]]) -> dict[str, Any]:
    seen: dict[str, Any] = {}
    for key, value in pairs:
        if key in seen:
            raise _DuplicateKey(key)
        seen[key] = value
    return seen


def zip_rules(path: str | Path, findings: Findings) -> list[str]:
    """The zip's layout and locations.geojson; returns the GeoJSON feature ids (for duplicate_geography_id)."""
    try:
        with zipfile.ZipFile(path) as archive:
            infos = [info for info in archive.infolist() if not info.is_dir()]
            nested = [info.filename for info in infos if "/" in info.filename and info.filename.rsplit("/", 1)[-1] in KNOWN_FILES]
            findings.add(SUBFOLDER, np.asarray([bool(nested)]), lambda _i: {"item": nested[0] if nested else str(path), "files": nested[:10]})
            geojson = next((info for info in infos if info.filename == GEOJSON), None)
            if geojson is None:
                return []
            if geojson.file_size > MAX_GEOJSON_BYTES:
                findings.fail(MALFORMED_JSON, {"item": GEOJSON, "error": f"larger than {MAX_GEOJSON_BYTES >> 20} MiB, not read"})
                return []
            data = archive.read(geojson)
    except (OSError, zipfile.BadZipFile):  # the reader reports an unreadable zip
        return []
    return geojson_rules(data, findings)


def geojson_rules(data: bytes, findings: Findings) -> list[str]:
    try:
        root = json.loads(data.decode("utf-8-sig"), object_pairs_hook=_no_duplicates)
    except _DuplicateKey as duplicate:
        findings.fail(DUPLICATED_ELEMENT, {"item": GEOJSON, "key": duplicate.key})
        return []
    except (UnicodeDecodeError, ValueError) as error:
        findings.fail(MALFORMED_JSON, {"item": GEOJSON, "error": short(str(error))})
        return []
    findings.passed(DUPLICATED_ELEMENT)
    if not isinstance(root, dict):
        findings.fail(MALFORMED_JSON, {"item": GEOJSON, "error": "expected a JSON object at the root"})
        return []
    findings.passed(MALFORMED_JSON)
    if "type" not in root:
        findings.fail(MISSING_ELEMENT, {"item": GEOJSON, "element": "type"})
        return []
    if root["type"] != "FeatureCollection":
        findings.fail(GEOJSON_TYPE, {"item": GEOJSON, "type": short(root["type"])})
        return []
    findings.passed(GEOJSON_TYPE)
    features = root.get("features")
    if not isinstance(features, list):
        findings.fail(MISSING_ELEMENT, {"item": GEOJSON, "element": "features"})
        return []
    ids: list[str] = []
    first_index: dict[str, int] = {}
    for index, feature in enumerate(features):
        feature_id = _feature(feature, index, findings)
        if feature_id is None:
            continue
        ids.append(feature_id)
        if feature_id in first_index:
            findings.fail(DUPLICATE_FEATURE_ID, {"item": feature_id, "first_index": first_index[feature_id], "index": index})
        else:
            first_index[feature_id] = index
            findings.passed(DUPLICATE_FEATURE_ID)
    return ids


def _feature(feature: Any, index: int, findings: Findings) -> str | None:
    """Check one feature; its id when it has one."""
    if not isinstance(feature, dict):
        findings.fail(MISSING_ELEMENT, {"item": f"features[{index}]", "element": "features.type"})
        return None
    missing = [f"features.{name}" for name in ("id", "type", "properties", "geometry") if feature.get(name) in (None, "")]
    feature_id = str(feature["id"]) if feature.get("id") not in (None, "") else None
    where = {"item": feature_id or f"features[{index}]", "feature_index": index}
    if "type" in feature:
        findings.add(FEATURE_TYPE, np.asarray([feature["type"] != "Feature"]), lambda _i: {**where, "type": short(feature["type"])})
    geometry = feature.get("geometry")
    if isinstance(geometry, dict):
        if "type" not in geometry:
            missing.append("features.geometry.type")
        elif "coordinates" not in geometry:
            missing.append("features.geometry.coordinates")
    findings.add(MISSING_ELEMENT, np.asarray([bool(missing)]), lambda _i: {**where, "elements": missing})
    if missing or not isinstance(geometry, dict):
        return feature_id
    kind = geometry["type"]
    findings.add(GEOMETRY_TYPE, np.asarray([kind not in ("Polygon", "MultiPolygon")]), lambda _i: {**where, "type": short(kind)})
    if kind in ("Polygon", "MultiPolygon"):
        error = _geometry_error(kind, geometry["coordinates"])
        findings.add(INVALID_GEOMETRY, np.asarray([error is not None]), lambda _i: {**where, "type": kind, "error": error})
    return feature_id


def _geometry_error(kind: str, coordinates: Any) -> str | None:
    from shapely.geometry import shape
    from shapely.validation import explain_validity

    polygons = coordinates if kind == "MultiPolygon" else [coordinates]
    try:  # JTS refuses rings that are not closed; shapely would close them
        if any(len(ring) < 4 or list(ring[0]) != list(ring[-1]) for polygon in polygons for ring in polygon):
            return "a ring is not closed or has fewer than 4 points"
        geometry = shape({"type": kind, "coordinates": coordinates})
    except (ValueError, TypeError, IndexError, AttributeError) as error:  # e.g. a ring of fewer than 4 points
        return str(error) or type(error).__name__
    return None if geometry.is_valid else explain_validity(geometry)
