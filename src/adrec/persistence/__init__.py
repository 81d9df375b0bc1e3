"""Persistence: the model bundle folder, written atomically and read without executing code."""

from adrec.persistence.bundle import (
    BUNDLE_FORMAT_VERSION,
    BundleContents,
    bundle_hash,
    check_bundle_destination,
    load_bundle,
    read_manifest,
    save_bundle,
)

__all__ = [
    "BUNDLE_FORMAT_VERSION",
    "BundleContents",
    "bundle_hash",
    "check_bundle_destination",
    "load_bundle",
    "read_manifest",
    "save_bundle",
]
