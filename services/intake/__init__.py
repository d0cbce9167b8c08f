"""The intake service: arrest, custody, evidence, transfers, admission, family contact, release."""
