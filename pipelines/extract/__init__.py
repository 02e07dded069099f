"""Fetching from the Admin API: which requests to send, and decoding their pages into frames."""
