"""Persistence: the model bundle folder, written atomically and read without executing code."""

from adrec.persistence.bundle import (
    BUNDLE_FORMAT_VERSION,
    BundleContents,
    bundle_hash,
    load_bundle,
    read_manifest,
    save_bundle,
)

__all__ = [
    "BUNDLE_FORMAT_VERSION",
    "BundleContents",
    "bundle_hash",
    "load_bundle",
    "read_manifest",
    "save_bundle",
]
