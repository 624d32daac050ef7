"""Evaluation: retrieval metrics, answer metrics and the comparison of variants."""
