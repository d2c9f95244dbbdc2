"""Compiled-release checks: coherent, consistent and reference families (one module per check)."""
