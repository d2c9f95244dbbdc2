"""Item-level checks: coherence and references inside one item."""
