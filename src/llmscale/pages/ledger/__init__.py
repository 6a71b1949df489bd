"""The claims ledger's own page."""
