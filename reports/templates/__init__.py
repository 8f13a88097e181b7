"""The HTML report's template, stylesheet and script (package data: a package so that wheels include them)."""
