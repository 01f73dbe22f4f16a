"""model layer: typed Kargo resources (camelCase on the wire, unknown fields refused)."""
