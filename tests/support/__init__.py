"""Shared test support: privilege and tool checks, the netns fixture's machinery, peers."""
