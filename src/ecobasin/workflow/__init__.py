"""Workflows as pure state machines and checks: consultation, emergency lists, rectification cases, machinery."""
