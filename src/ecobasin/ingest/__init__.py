"""Getting data in: readers per source (pure, ``read_*`` → ``(frame, meta)``), validation of
candidate observations (pure), and the importer that writes through the store (shell)."""
