"""Forecasting core (pure): models, verification and heavy-pollution warning rules."""
