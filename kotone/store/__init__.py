"""Song storage: write-once song folders plus a rebuildable index."""
