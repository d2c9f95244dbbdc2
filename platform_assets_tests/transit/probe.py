"""Small probe feeds written by tests: every table given as plain CSV text, nothing computed."""

from __future__ import annotations

import zipfile
from pathlib import Path

MINIMAL_TABLES: dict[str, str] = {
    "agency.txt": "agency_id,agency_name,agency_url,agency_timezone\nAG,Probe Transit,https://probe.example.org,Europe/Paris\n",
    "stops.txt": "stop_id,stop_name,stop_lat,stop_lon\nS1,One,48.1,2.1\nS2,Two,48.2,2.2\n",
    "routes.txt": "route_id,agency_id,route_short_name,route_long_name,route_type\nR1,AG,1,One-Two,3\n",
    "trips.txt": "route_id,service_id,trip_id,trip_headsign,direction_id\nR1,SV,T1,Two,0\n",
    "stop_times.txt": "trip_id,arrival_time,departure_time,stop_id,stop_sequence\n"
    "T1,08:00:00,08:00:00,S1,1\nT1,08:10:00,08:10:00,S2,2\n",
    "calendar.txt": "service_id,monday,tuesday,wednesday,thursday,friday,saturday,sunday,start_date,end_date\n"
    "SV,1,1,1,1,1,0,0,20260101,20260630\n",
}


def write_gtfs(path: Path, replace: dict[str, str | None] | None = None) -> Path:
    """A zip of MINIMAL_TABLES with `replace` applied (a None value drops the table)."""
    tables = {**MINIMAL_TABLES, **(replace or {})}
    path.parent.mkdir(parents=True, exist_ok=True)
    with zipfile.ZipFile(path, "w") as archive:
        for name, text in tables.items():
            if text is not None:
                archive.writestr(name, text)
    return path
