"""The weekly digest: data, segments, charts, rendering, building and sending."""
