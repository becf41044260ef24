"""Distributed training: collectives across ranks (``collectives``) and starting the ranks (``launch``)."""
