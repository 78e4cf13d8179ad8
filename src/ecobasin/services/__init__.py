"""Answers to the questions the CLI and the API both ask, one module per domain."""
