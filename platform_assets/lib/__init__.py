"""Pieces with no Dagster in them, used by several systems or standing on their own.

`lib/` imports neither Dagster nor `core/` nor any system package (a test keeps it so): the GTFS
reader and validity rules (`gtfs/`), the quality check framework (`quality/`), the streaming XLSX
writer (`xlsx/`), and the few helpers they share.
"""
