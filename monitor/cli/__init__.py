"""The `pulso` command line."""
