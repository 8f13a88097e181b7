"""Scenario files shipped with orgscan (data only: a package so that wheels include them)."""
