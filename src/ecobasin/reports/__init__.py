"""Report builders: tables and documents made from stored data and the standards."""
