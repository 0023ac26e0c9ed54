"""Ingest stage: due feeds are fetched, parsed, classified, stored and their outbox rows queued."""
