"""The one staging pipeline: every source's records become ImportRows, validated, fixed, imported."""
