"""Subscriptions stage (pure): chat words to filters, and which subscriptions an article matches."""
