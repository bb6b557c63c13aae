"""Detection: rules, incidents, alert lifecycle, source alerts, backtest."""
