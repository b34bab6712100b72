"""Readers that convert other tutoring systems' content into our curriculum package format."""
