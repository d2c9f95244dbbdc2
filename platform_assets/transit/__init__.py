"""The transit system. Pure domain modules import no Dagster; the Dagster layer is wired in defs.py."""
