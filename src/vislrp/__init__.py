"""vislrp: design, run and compare Layer-wise Relevance Propagation models for image CNNs."""

__version__ = "0.1.0"
