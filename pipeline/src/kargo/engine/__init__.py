"""engine layer: one reconciler per kind, and the operations the API offers."""
