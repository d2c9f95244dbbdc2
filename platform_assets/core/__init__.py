"""Shared spine of the platform: settings, resources, alerts, hold check and CLI group."""
