"""The Dagster checks of a GTFS feed: one per rule group, plus the project's own families (a
module of its own so that declaring the checks does not load the rule modules)."""

FAMILIES = ("files", "fields", "references", "stop_times", "shapes", "stops", "routes", "calendar", "coherence", "dataset", "time_based")
