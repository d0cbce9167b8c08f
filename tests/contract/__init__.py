"""Contract tests of the event catalogue: schemas, envelopes and saved payloads."""
