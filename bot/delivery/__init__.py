"""Delivery stage: the outbox drained to Telegram at its pace; what each Telegram error means."""
