"""Turn a lazy pandera validation into framework CheckResults with failure-case examples.

One result per (column, check) of the schema, named `<table>.<column>.<check>`: rows failing the
check count as failed, the others as passed (rows of a missing column as not applicable, plus a
failing `<column>.present` result when the column is required). Frames may come in chunks for
bounded memory; `unique=True` columns are then checked across chunks by the framework's
Uniqueness check instead of per chunk.
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

import numpy as np
import pandas as pd
import pandera.pandas as pa
from pandera.errors import SchemaError, SchemaErrors

from platform_assets.lib.quality.batch import FrameBatch
from platform_assets.lib.quality.check import score_of, short
from platform_assets.lib.quality.dataset.uniqueness import Uniqueness
from platform_assets.lib.quality.result import FAILED, NOT_APPLICABLE, PASSED, CheckResult, Level
from platform_assets.lib.quality.tally import Tally


def _label(check: str) -> str:
    """A stable short label for a pandera failure-case `check` text."""
    if check.startswith(("dtype(", "coerce_dtype(")) or check == "coerce_dtype":
        return "dtype"
    if check == "field_uniqueness":
        return "unique"
    return check


def _expected_labels(schema: pa.DataFrameSchema) -> dict[str, list[str]]:
    expected: dict[str, list[str]] = {}
    for name, column in schema.columns.items():
        labels = ["present"]
        if column.dtype is not None:
            labels.append("dtype")
        if not column.nullable:
            labels.append("not_nullable")
        if column.unique:
            labels.append("unique")
        labels.extend(str(check.error or check.name) for check in column.checks)
        expected[str(name)] = labels
    expected["*"] = [str(check.error or check.name) for check in schema.checks]
    return expected


class PanderaTallies:
    """Accumulates one Tally per (column, label) over chunks."""

    def __init__(self, schema: pa.DataFrameSchema, table: str, id_column: str | None, seed: int) -> None:
        self.schema = schema
        self.table = table
        self.id_column = id_column
        self.seed = seed
        self.expected = _expected_labels(schema)
        self.tallies: dict[tuple[str, str], Tally] = {}
        self.rows = 0

    def tally(self, column: str, label: str) -> Tally:
        key = (column, label)
        if key not in self.tallies:
            self.tallies[key] = Tally(f"{self.table}.{column}.{label}", self.seed)
        return self.tallies[key]

    def add_chunk(self, frame: pd.DataFrame, schema: pa.DataFrameSchema, offset: int) -> None:
        rows = len(frame)
        self.rows += rows
        frame = frame.reset_index(drop=True)
        try:
            schema.validate(frame, lazy=True)
            cases = pd.DataFrame(columns=["schema_context", "column", "check", "failure_case", "index"])
        except SchemaErrors as errors:
            cases = errors.failure_cases
        except SchemaError as error:  # pandera raises this for some frame-wide problems even when lazy
            cases = pd.DataFrame([{"schema_context": "DataFrameSchema", "column": self.table, "check": str(error.check or "schema"), "failure_case": str(error)[:200], "index": None}])

        def row_id(position: int) -> str:
            if self.id_column and self.id_column in frame.columns:
                return str(frame[self.id_column].iat[position])
            return f"{self.table}:{offset + position + 2}"  # the line number in the CSV file (header is 1)

        missing = set(cases.loc[cases["check"] == "column_in_dataframe", "failure_case"].astype(str))
        failing: dict[tuple[str, str], dict[int, Any]] = {}
        for case in cases.itertuples(index=False):
            if case.check == "column_in_dataframe":
                continue
            column = str(case.column) if case.schema_context == "Column" else "*"
            index = case.index
            if index is None or (isinstance(index, float) and np.isnan(index)):
                continue
            failing.setdefault((column, _label(str(case.check))), {}).setdefault(int(index), case.failure_case)

        for column, labels in self.expected.items():
            for label in labels:
                outcomes = np.full(rows, PASSED, dtype=np.int8)
                values = frame[column] if column in frame.columns else None
                if column in missing:
                    if label == "present":
                        required = schema.columns[column].required
                        outcomes[:] = FAILED if required else NOT_APPLICABLE
                    else:
                        outcomes[:] = NOT_APPLICABLE
                elif column != "*" and column not in frame.columns:
                    outcomes[:] = NOT_APPLICABLE  # optional column absent: nothing to check
                else:
                    bad = failing.get((column, label), {})
                    if bad:
                        outcomes[list(bad)] = FAILED
                    if label not in ("present", "not_nullable") and values is not None and column != "*":
                        outcomes[(values.isna().to_numpy()) & (outcomes == PASSED)] = NOT_APPLICABLE

                def example(i: int, column: str = column, label: str = label, values: pd.Series | None = values) -> dict[str, Any]:
                    failure = failing.get((column, label), {}).get(i)
                    value = failure if failure is not None else (values.iat[i] if values is not None else None)
                    return {"item": row_id(i), "column": column, "check": label, "value": short(value)}

                self.tally(column, label).add(outcomes, example)

    def results(self) -> list[CheckResult]:
        results = []
        for (column, label), tally in self.tallies.items():
            level = Level.DATASET if label == "unique" else (Level.ITEM if column == "*" else Level.FIELD)
            result = tally.result(f"{self.table}.{column}.{label}", level, f"{self.table}: {column} {label}")
            result.meta = {"table": self.table, "column": column, "check": label, "rows": self.rows}
            results.append(score_of(result))
        return results


def pandera_results(
    schema: pa.DataFrameSchema,
    frames: pd.DataFrame | Iterable[pd.DataFrame],
    table: str | None = None,
    id_column: str | None = None,
    seed: int = 0,
) -> list[CheckResult]:
    """Validate `frames` (one DataFrame or chunks of one table) lazily against `schema`."""
    table = table or schema.name or "table"
    chunked = not isinstance(frames, pd.DataFrame)
    chunks = frames if chunked else [frames]
    unique_columns = [name for name, column in schema.columns.items() if column.unique] if chunked else []
    per_chunk_schema = schema.update_columns({name: {"unique": False} for name in unique_columns}) if unique_columns else schema
    tallies = PanderaTallies(schema, table, id_column, seed)
    for name in unique_columns:
        tallies.expected[str(name)].remove("unique")
    unique_checks = {
        str(name): Uniqueness(name=f"{table}.{name}.unique", level=Level.DATASET, description=f"{table}: {name} unique", path=str(name)).evaluator(seed)
        for name in unique_columns
    }
    offset = 0
    for frame in chunks:
        tallies.add_chunk(frame, per_chunk_schema, offset)
        batch = FrameBatch(frame.reset_index(drop=True), id_column, offset, table)
        for evaluator in unique_checks.values():
            evaluator.update(batch)
        offset += len(frame)
    results = tallies.results()
    results.extend(evaluator.finish(False) for evaluator in unique_checks.values())
    return results
