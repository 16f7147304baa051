"""Partner notifications: signed webhooks for journal events, delivered at least once."""
