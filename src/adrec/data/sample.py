"""The synthetic ads dataset shipped inside the package.

About 2,000 users, 250 interests of a two-tier ad taxonomy and 80,000 frequency
rows drawn from a latent-factor model. ``scripts/make_sample_data.py`` in the
source repository regenerates the files byte for byte.
"""

from __future__ import annotations

from importlib import resources
from pathlib import Path

from adrec.data.dataset import InteractionData
from adrec.data.layouts import load_data


def sample_data_path() -> Path:
    """Return the folder of the embedded sample tables."""
    return Path(str(resources.files("adrec.data") / "sample_data"))


def load_sample() -> InteractionData:
    """Load the embedded sample: ``frequency.csv``, ``users.csv`` and ``interests.csv``."""
    data = load_data(sample_data_path())
    data.name = "adrec-sample"
    return data
