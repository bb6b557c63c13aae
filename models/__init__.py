"""Scoring models: sentiment engines behind one interface (heavy models load lazily)."""
