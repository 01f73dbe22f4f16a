"""The kargo command line."""
