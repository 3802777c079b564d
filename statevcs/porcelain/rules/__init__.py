"""State rules checked on every commit: JSON Schemas (stored or in .statevcs/schema.json) and transition rules (.statevcs/attributes)."""
