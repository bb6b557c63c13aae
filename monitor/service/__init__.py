"""The running service: scheduler, workers, HTTP endpoint, health check, logs, stop."""
