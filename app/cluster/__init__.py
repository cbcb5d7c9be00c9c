"""Several instances on one machine: local Redis/PostgreSQL servers and ``make run-cluster``."""
