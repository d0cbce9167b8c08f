"""The ledger service: the append-only, hash-chained record of every event; timelines, proofs."""
