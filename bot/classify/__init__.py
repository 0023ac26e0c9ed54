"""Classifier (placeholder)."""
