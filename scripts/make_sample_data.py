"""Generate the synthetic sample dataset shipped in src/adrec/data/sample_data.

The script writes three CSV files:

* users.csv: user_id, age_band, gender, region, device
* interests.csv: interest_id, name, category (a two-tier ad taxonomy)
* frequency.csv: user_id, interest_id, frequency, timestamp

Engagements come from a latent-factor model, so recommenders have real structure to
learn. Each tier-1 category has a latent vector, and each interest is its category
vector plus smaller noise. A user vector is the sum of one offset vector per
demographic attribute value plus individual noise. A user engages with interests
drawn without replacement (Gumbel-top-k) with logits that grow with the affinity
(user vector dot interest vector) plus an interest popularity bias. The engagement
count is 1 + Poisson(lambda), where log(lambda) grows with the same affinity.

Only numpy and the standard library are needed. Two runs with the same seed write
byte-identical files (checked with numpy 2.4.6 on Linux x86-64).
NOTE: the numpy.random compatibility policy promises the same stream only for the same
numpy build on the same machine, so another numpy version or platform may write
different data for the same seed.

Usage:
    python scripts/make_sample_data.py [--seed N] [--out DIR]
"""

from __future__ import annotations

import argparse
import csv
import datetime as dt
import sys
from dataclasses import dataclass
from pathlib import Path

import numpy as np

DEFAULT_SEED = 20240630
DEFAULT_OUT_DIR = Path(__file__).resolve().parent.parent / "src" / "adrec" / "data" / "sample_data"

NUM_USERS = 2000
LATENT_DIM = 10

# Timestamps end at a fixed instant so the output never depends on the current clock.
WINDOW_END = int(dt.datetime(2024, 6, 30, tzinfo=dt.timezone.utc).timestamp())
WINDOW_SECONDS = 180 * 24 * 3600

# The user with this id always gets at least PINNED_USER_MIN_ACTIVITY interests, so
# examples and tests can rely on a user with a long history.
PINNED_USER_ID = 6
PINNED_USER_MIN_ACTIVITY = 30

# Number of interests per user: lognormal, clipped to [MIN_ACTIVITY, MAX_ACTIVITY].
# With these values the mean is about 40, so frequency.csv has about 80,000 rows
# (79,793 with the default seed).
ACTIVITY_LOG_MEDIAN = np.log(28.0)
ACTIVITY_LOG_SD = 0.85
MIN_ACTIVITY = 5
MAX_ACTIVITY = 200

# Scales of the latent-factor model (standard deviations unless stated otherwise).
INTEREST_NOISE_SD = 0.6  # interest vector around its category vector
ATTRIBUTE_OFFSET_SD = 0.45  # per attribute value
USER_NOISE_SD = 0.8  # individual part of the user vector
POPULARITY_SD = 1.1  # interest popularity bias in the selection logits
SELECTION_AFFINITY_WEIGHT = 1.0
FREQUENCY_LOG_BASE = np.log(2.5)
FREQUENCY_AFFINITY_WEIGHT = 0.6
FREQUENCY_USER_BIAS_SD = 0.45
FREQUENCY_INTEREST_BIAS_SD = 0.3
FREQUENCY_PAIR_NOISE_SD = 0.3

# Attribute values and their population shares.
AGE_BANDS = {
    "18-24": 0.16,
    "25-34": 0.25,
    "35-44": 0.21,
    "45-54": 0.17,
    "55-64": 0.13,
    "65+": 0.08,
}
GENDERS = {"female": 0.50, "male": 0.46, "unknown": 0.04}
REGIONS = {
    "north-east": 0.14,
    "north-west": 0.09,
    "midlands": 0.12,
    "south-east": 0.22,
    "south-west": 0.10,
    "capital": 0.18,
    "coastal-east": 0.07,
    "highlands": 0.08,
}
DEVICES = {"mobile": 0.58, "desktop": 0.25, "tablet": 0.10, "ctv": 0.07}

# Two-tier ad taxonomy: (category code, tier-1 category, tier-2 interests).
TAXONOMY: list[tuple[str, str, list[str]]] = [
    (
        "AUT",
        "Automotive",
        [
            "Electric Vehicles",
            "Pickup Trucks",
            "Family SUVs",
            "Used Car Buying",
            "Car Maintenance & Repair",
            "Motorcycles",
            "Classic Cars",
            "Car Audio & Electronics",
            "Motorsport",
            "Auto Insurance",
            "Car Detailing",
            "Camper Vans",
        ],
    ),
    (
        "TRV",
        "Travel",
        [
            "Beach Holidays",
            "City Breaks",
            "Budget Backpacking",
            "Luxury Resorts",
            "Cruises",
            "Ski Trips",
            "Road Trips",
            "Theme Parks",
            "Business Travel",
            "Airline Loyalty Programs",
            "Camping Holidays",
            "Adventure Tours",
        ],
    ),
    (
        "FIN",
        "Personal Finance",
        [
            "Credit Cards",
            "Mortgages",
            "Retirement Planning",
            "Stock Investing",
            "Cryptocurrency",
            "Budgeting Apps",
            "Student Loans",
            "Tax Preparation",
            "Life Insurance",
            "Savings Accounts",
            "Personal Loans",
        ],
    ),
    (
        "TEC",
        "Consumer Technology",
        [
            "Smartphones",
            "Laptops",
            "Smart Home Devices",
            "Wearables",
            "Headphones & Audio",
            "Camera Gear",
            "Tablets",
            "PC Building",
            "Home Networking",
            "Streaming Devices",
            "Drones",
        ],
    ),
    (
        "GAM",
        "Video Gaming",
        [
            "Console Gaming",
            "PC Gaming",
            "Mobile Games",
            "Esports",
            "Role-Playing Games",
            "Strategy Games",
            "Racing Games",
            "Retro Gaming",
            "Game Streaming",
            "Virtual Reality",
            "Puzzle Games",
        ],
    ),
    (
        "FIT",
        "Health & Fitness",
        [
            "Running",
            "Strength Training",
            "Yoga",
            "Indoor Cycling",
            "Home Workouts",
            "Weight Loss",
            "Nutrition Supplements",
            "Meditation & Mindfulness",
            "Sleep Health",
            "Swimming",
            "Marathon Training",
            "Pilates",
        ],
    ),
    (
        "FOD",
        "Food & Drink",
        [
            "Home Cooking",
            "Baking",
            "Vegan Food",
            "Meal Kits",
            "Coffee",
            "Craft Beer",
            "Wine",
            "Barbecue & Grilling",
            "Restaurant Delivery",
            "Healthy Snacks",
            "Cocktails",
            "World Cuisine",
        ],
    ),
    (
        "HOM",
        "Home & Garden",
        [
            "Interior Design",
            "Furniture",
            "Home Renovation",
            "Gardening",
            "Houseplants",
            "Kitchen Appliances",
            "Cleaning Products",
            "Home Security",
            "Outdoor Living",
            "Bedding & Mattresses",
            "Lighting",
            "DIY Tools",
        ],
    ),
    (
        "FSH",
        "Fashion & Apparel",
        [
            "Womenswear",
            "Menswear",
            "Sneakers",
            "Streetwear",
            "Luxury Handbags",
            "Watches",
            "Jewelry",
            "Activewear",
            "Sustainable Fashion",
            "Children's Clothing",
            "Outerwear",
        ],
    ),
    (
        "BTY",
        "Beauty & Personal Care",
        [
            "Skincare",
            "Makeup",
            "Hair Care",
            "Fragrance",
            "Nail Care",
            "Men's Grooming",
            "Anti-Aging",
            "Natural Beauty",
            "Shaving",
            "Oral Care",
        ],
    ),
    (
        "PAR",
        "Parenting & Family",
        [
            "Pregnancy",
            "Baby Gear",
            "Toddler Activities",
            "Educational Toys",
            "School Supplies",
            "Family Vacations",
            "Teen Parenting",
            "Childcare",
            "Baby Food",
            "Kids' Birthday Parties",
        ],
    ),
    (
        "PET",
        "Pets",
        [
            "Dog Care",
            "Cat Care",
            "Pet Food",
            "Pet Insurance",
            "Aquariums",
            "Pet Birds",
            "Dog Training",
            "Pet Grooming",
            "Small Pets",
            "Reptiles",
        ],
    ),
    (
        "SPT",
        "Sports",
        [
            "American Football",
            "Basketball",
            "Baseball",
            "Soccer",
            "Tennis",
            "Golf",
            "Ice Hockey",
            "Combat Sports",
            "Fantasy Sports",
            "Sports Betting",
            "Cricket",
            "Rugby",
        ],
    ),
    (
        "MUS",
        "Music",
        [
            "Pop Music",
            "Hip-Hop",
            "Rock",
            "Country Music",
            "Electronic Dance Music",
            "Jazz",
            "Classical Music",
            "Live Concerts",
            "Music Festivals",
            "Musical Instruments",
            "Vinyl Records",
            "K-Pop",
        ],
    ),
    (
        "MOV",
        "Film & Television",
        [
            "Streaming Services",
            "Action Movies",
            "Comedy",
            "Documentaries",
            "Reality TV",
            "Anime",
            "Science Fiction",
            "Horror",
            "Crime Dramas",
            "Award Shows",
            "Movie Theaters",
        ],
    ),
    (
        "BOK",
        "Books & Literature",
        [
            "Fiction Bestsellers",
            "Mystery & Thriller",
            "Romance Novels",
            "Fantasy Novels",
            "Biographies",
            "Self-Help",
            "Audiobooks",
            "E-Readers",
            "Comics & Graphic Novels",
            "Poetry",
            "Book Clubs",
        ],
    ),
    (
        "EDU",
        "Education & Careers",
        [
            "Online Courses",
            "Language Learning",
            "Coding Bootcamps",
            "MBA Programs",
            "Job Search",
            "Resume Writing",
            "Test Preparation",
            "Professional Certifications",
            "Remote Work",
            "College Admissions",
        ],
    ),
    (
        "RES",
        "Real Estate",
        [
            "Home Buying",
            "Apartment Rentals",
            "Home Selling",
            "Property Investment",
            "Vacation Rentals",
            "Home Appraisal",
            "Moving Services",
            "New Construction Homes",
            "Commercial Property",
            "Home Inspection",
        ],
    ),
    (
        "BUS",
        "Business & Entrepreneurship",
        [
            "Small Business",
            "Startups",
            "Marketing Tools",
            "E-commerce Selling",
            "Accounting Software",
            "Freelancing",
            "Business Banking",
            "Office Supplies",
            "Leadership",
            "Franchising",
        ],
    ),
    (
        "OUT",
        "Outdoors & Recreation",
        [
            "Hiking",
            "Fishing",
            "Hunting",
            "Camping Gear",
            "Rock Climbing",
            "Kayaking & Canoeing",
            "Boating",
            "Surfing",
            "Birdwatching",
            "Trail Running",
            "Snowboarding",
        ],
    ),
    (
        "ART",
        "Arts & Crafts",
        [
            "Painting",
            "Drawing",
            "Knitting & Crochet",
            "Sewing",
            "Pottery",
            "Scrapbooking",
            "Photography",
            "Woodworking",
            "Calligraphy",
            "Jewelry Making",
        ],
    ),
    (
        "SCI",
        "Science & Nature",
        [
            "Astronomy",
            "Space Exploration",
            "Wildlife",
            "Climate & Environment",
            "Physics",
            "Archaeology",
            "Oceans & Marine Life",
            "Geology",
            "Renewable Energy",
            "Popular Science",
        ],
    ),
    (
        "SHP",
        "Shopping & Deals",
        [
            "Coupons",
            "Cashback Apps",
            "Holiday Sales",
            "Luxury Shopping",
            "Discount Stores",
            "Online Marketplaces",
            "Subscription Boxes",
            "Grocery Deals",
            "Gift Ideas",
            "Secondhand & Thrift",
        ],
    ),
]


@dataclass(frozen=True)
class Interest:
    interest_id: str
    name: str
    category: str
    category_index: int


@dataclass(frozen=True)
class Users:
    """Demographic attributes as indices into AGE_BANDS, GENDERS, REGIONS and DEVICES.

    Entry i of each array belongs to the user with user_id i + 1.
    """

    age_band: np.ndarray
    gender: np.ndarray
    region: np.ndarray
    device: np.ndarray


def build_interests() -> list[Interest]:
    """Expand TAXONOMY into interests with ids like "AUT-01".

    Raises ValueError if a category code is not 3 uppercase letters, a category has more
    than 99 interests, or a code or interest name appears twice.
    """
    interests = []
    for category_index, (code, category, names) in enumerate(TAXONOMY):
        if len(code) != 3 or not code.isalpha() or not code.isupper():
            raise ValueError(
                f"invalid category code {code!r} in TAXONOMY, expected 3 uppercase letters"
            )
        if len(names) > 99:
            raise ValueError(
                f"category {category!r} has {len(names)} interests, but ids allow at most 99"
            )
        for number, name in enumerate(names, start=1):
            interest_id = f"{code}-{number:02d}"
            interests.append(Interest(interest_id, name, category, category_index))

    codes = [code for code, _, _ in TAXONOMY]
    interest_names = [interest.name for interest in interests]
    for label, values in (("category code", codes), ("interest name", interest_names)):
        repeated = sorted({value for value in values if values.count(value) > 1})
        if repeated:
            raise ValueError(f"duplicate {label}s in TAXONOMY: {repeated}")
    return interests


def draw_users(rng: np.random.Generator, num_users: int) -> Users:
    """Draw each attribute independently with the shares given in its table."""

    def draw(shares: dict[str, float]) -> np.ndarray:
        probabilities = np.array(list(shares.values()))
        return rng.choice(len(shares), size=num_users, p=probabilities / probabilities.sum())

    return Users(draw(AGE_BANDS), draw(GENDERS), draw(REGIONS), draw(DEVICES))


def draw_user_vectors(rng: np.random.Generator, users: Users) -> np.ndarray:
    """Sum one offset vector per attribute value and add individual noise."""
    num_users = len(users.age_band)
    vectors = rng.normal(0.0, USER_NOISE_SD, size=(num_users, LATENT_DIM))
    for values, table in (
        (users.age_band, AGE_BANDS),
        (users.gender, GENDERS),
        (users.region, REGIONS),
        (users.device, DEVICES),
    ):
        offsets = rng.normal(0.0, ATTRIBUTE_OFFSET_SD, size=(len(table), LATENT_DIM))
        vectors += offsets[values]
    return vectors


def draw_interest_vectors(rng: np.random.Generator, interests: list[Interest]) -> np.ndarray:
    """Place each interest near the latent vector of its tier-1 category."""
    category_vectors = rng.normal(0.0, 1.0, size=(len(TAXONOMY), LATENT_DIM))
    category_index = np.array([interest.category_index for interest in interests])
    noise = rng.normal(0.0, INTEREST_NOISE_SD, size=(len(interests), LATENT_DIM))
    return category_vectors[category_index] + noise


def draw_activity(rng: np.random.Generator, num_users: int, num_interests: int) -> np.ndarray:
    """Draw how many distinct interests each user engages with (heavy-tailed)."""
    activity = np.rint(rng.lognormal(ACTIVITY_LOG_MEDIAN, ACTIVITY_LOG_SD, size=num_users))
    activity = np.clip(activity, MIN_ACTIVITY, min(MAX_ACTIVITY, num_interests)).astype(np.int64)
    pinned = PINNED_USER_ID - 1
    activity[pinned] = max(activity[pinned], PINNED_USER_MIN_ACTIVITY)
    return activity


def draw_engagements(
    rng: np.random.Generator,
    user_vectors: np.ndarray,
    interest_vectors: np.ndarray,
    activity: np.ndarray,
) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
    """Draw the engaged (user, interest) pairs with their frequency and last timestamp.

    Returns four arrays of equal length: user index, interest index, frequency and
    timestamp. Pairs are unique because each user's interests are the top-k of
    Gumbel-perturbed logits, which samples k interests without replacement with
    probability increasing in the logit.
    """
    num_users, num_interests = len(user_vectors), len(interest_vectors)
    # einsum without optimize skips BLAS, whose rounding can differ between builds and
    # thread counts and could change the data drawn below.
    affinity = np.einsum("ud,id->ui", user_vectors, interest_vectors) / np.sqrt(LATENT_DIM)
    popularity = rng.normal(0.0, POPULARITY_SD, size=num_interests)
    logits = SELECTION_AFFINITY_WEIGHT * affinity + popularity
    gumbel = rng.gumbel(size=(num_users, num_interests))
    ranked = np.argsort(-(logits + gumbel), axis=1, kind="stable")

    user_index = np.repeat(np.arange(num_users), activity)
    interest_index = np.concatenate([ranked[u, : activity[u]] for u in range(num_users)])

    user_bias = rng.normal(0.0, FREQUENCY_USER_BIAS_SD, size=num_users)
    interest_bias = rng.normal(0.0, FREQUENCY_INTEREST_BIAS_SD, size=num_interests)
    pair_noise = rng.normal(0.0, FREQUENCY_PAIR_NOISE_SD, size=len(user_index))
    log_rate = (
        FREQUENCY_LOG_BASE
        + FREQUENCY_AFFINITY_WEIGHT * affinity[user_index, interest_index]
        + user_bias[user_index]
        + interest_bias[interest_index]
        + pair_noise
    )
    frequency = 1 + rng.poisson(np.exp(log_rate))

    # If a pair's engagements fall uniformly in the window, the latest of n of them lies
    # a fraction 1 - U ** (1 / n) of the window before its end, with U uniform on [0, 1).
    fraction_before_end = 1.0 - rng.random(len(user_index)) ** (1.0 / frequency)
    timestamp = WINDOW_END - np.floor(fraction_before_end * WINDOW_SECONDS).astype(np.int64)
    return user_index, interest_index, frequency.astype(np.int64), timestamp


def write_csv(path: Path, header: list[str], rows: list[list[str]]) -> None:
    with path.open("w", encoding="utf-8", newline="") as handle:
        writer = csv.writer(handle, lineterminator="\n")
        writer.writerow(header)
        writer.writerows(rows)


def write_users(path: Path, users: Users) -> None:
    age_names, gender_names = list(AGE_BANDS), list(GENDERS)
    region_names, device_names = list(REGIONS), list(DEVICES)
    rows = [
        [
            str(i + 1),
            age_names[users.age_band[i]],
            gender_names[users.gender[i]],
            region_names[users.region[i]],
            device_names[users.device[i]],
        ]
        for i in range(len(users.age_band))
    ]
    write_csv(path, ["user_id", "age_band", "gender", "region", "device"], rows)


def write_interests(path: Path, interests: list[Interest]) -> None:
    rows = [[interest.interest_id, interest.name, interest.category] for interest in interests]
    write_csv(path, ["interest_id", "name", "category"], rows)


def write_frequency(
    path: Path,
    interests: list[Interest],
    user_index: np.ndarray,
    interest_index: np.ndarray,
    frequency: np.ndarray,
    timestamp: np.ndarray,
) -> None:
    """Write one row per engaged pair, sorted by user id (numerically), then interest id."""
    interest_ids = [interest.interest_id for interest in interests]
    order = sorted(
        range(len(user_index)),
        key=lambda k: (user_index[k], interest_ids[interest_index[k]]),
    )
    rows = [
        [
            str(user_index[k] + 1),
            interest_ids[interest_index[k]],
            str(frequency[k]),
            str(timestamp[k]),
        ]
        for k in order
    ]
    write_csv(path, ["user_id", "interest_id", "frequency", "timestamp"], rows)


def generate(seed: int, out_dir: Path) -> None:
    """Draw the whole dataset from `seed` and write the three CSV files into `out_dir`."""
    rng = np.random.default_rng(seed)
    interests = build_interests()
    users = draw_users(rng, NUM_USERS)
    user_vectors = draw_user_vectors(rng, users)
    interest_vectors = draw_interest_vectors(rng, interests)
    activity = draw_activity(rng, NUM_USERS, len(interests))
    engagements = draw_engagements(rng, user_vectors, interest_vectors, activity)

    out_dir.mkdir(parents=True, exist_ok=True)
    write_users(out_dir / "users.csv", users)
    write_interests(out_dir / "interests.csv", interests)
    write_frequency(out_dir / "frequency.csv", interests, *engagements)


def parse_args(argv: list[str] | None = None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument(
        "--seed",
        type=int,
        default=DEFAULT_SEED,
        help=f"seed of the numpy random generator (default: {DEFAULT_SEED})",
    )
    parser.add_argument(
        "--out",
        type=Path,
        default=DEFAULT_OUT_DIR,
        help="directory to write users.csv, interests.csv and frequency.csv into "
        "(default: src/adrec/data/sample_data in this repository)",
    )
    args = parser.parse_args(argv)
    if args.seed < 0:
        parser.error(f"--seed must be a non-negative integer, got {args.seed}")
    return args


def main(argv: list[str] | None = None) -> int:
    args = parse_args(argv)
    generate(args.seed, args.out)
    print(f"wrote users.csv, interests.csv and frequency.csv to {args.out}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
