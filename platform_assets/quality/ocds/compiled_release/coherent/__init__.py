"""Coherent: the compiled release does not contradict itself (dates, periods, statuses, values)."""
