"""The small kernel that sources/ and notifiers/ import: records, alert events, secrets."""
