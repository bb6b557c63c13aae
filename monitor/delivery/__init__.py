"""Delivery: the outboxes that hand alerts and digests to notifiers, once, with retries."""
