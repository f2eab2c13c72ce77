"""Statistics: fixed-horizon numbers against SciPy, sequential behaviour, SRM, progress."""

from __future__ import annotations

import math

import numpy as np
import pytest
from scipy import stats as sps

from app.experiments import SRM_WARN_P, compare, progress, srm_p_value
from app.model import Experiment, VariantStats
from app.stats import chi2_sf, half_width


def sig3(a: float, b: float) -> bool:
    """Equal to 3 significant figures."""
    return a == b or abs(a - b) <= 5e-4 * max(abs(a), abs(b))


CASES = [
    ((10_000, 1_000), (10_000, 1_100)),
    ((1_000, 100), (1_200, 95)),
    ((50_000, 15_000), (49_000, 15_300)),
    ((300, 30), (310, 45)),
]


@pytest.mark.parametrize(("control", "variant"), CASES)
@pytest.mark.parametrize("alpha", [0.05, 0.01, 0.1])
def test_fixed_horizon_agrees_with_scipy(control: tuple[int, int], variant: tuple[int, int], alpha: float) -> None:
    (na, ca), (nb, cb) = control, variant
    pa, pb = ca / na, cb / nb
    se = math.sqrt(pa * (1 - pa) / na + pb * (1 - pb) / nb)
    z = sps.norm.ppf(1 - alpha / 2)
    r = compare(control, variant, sequential=False, alpha=alpha)
    assert r.control == control and r.variant == variant and r.alpha == alpha and not r.sequential
    assert sig3(r.absolute.estimate, pb - pa)
    assert sig3(r.absolute.ci[0], pb - pa - z * se) and sig3(r.absolute.ci[1], pb - pa + z * se)
    assert sig3(r.absolute.p_value, 2 * sps.norm.sf(abs(pb - pa) / se))
    # relative, delta method
    rel = (pb - pa) / pa
    se_rel = math.sqrt(pb * (1 - pb) / (pa**2 * nb) + pa * (1 - pa) * pb**2 / (pa**4 * na))
    assert sig3(r.relative.estimate, rel)
    assert sig3(r.relative.ci[0], rel - z * se_rel) and sig3(r.relative.ci[1], rel + z * se_rel)
    assert sig3(r.relative.p_value, 2 * sps.norm.sf(abs(rel) / se_rel))
    assert sig3(r.chance_to_win, sps.norm.cdf((pb - pa) / se))


def test_delta_method_matches_a_simulation() -> None:
    rng = np.random.default_rng(11)
    na, nb, pa, pb = 20_000, 20_000, 0.10, 0.11
    sims = (rng.binomial(nb, pb, 40_000) / nb - (a := rng.binomial(na, pa, 40_000) / na)) / a
    r = compare((na, int(na * pa)), (nb, int(nb * pb)), sequential=False)
    assert r.relative.std_error == pytest.approx(sims.std(), rel=0.03)


def test_sequential_is_wider_than_fixed_and_shrinks_with_n() -> None:
    widths = []
    for n in (200, 1_000, 5_000, 20_000, 100_000, 1_000_000):
        seq = compare((n, n // 10), (n, n // 9), sequential=True)
        fix = compare((n, n // 10), (n, n // 9), sequential=False)
        assert seq.absolute.ci[1] - seq.absolute.ci[0] > fix.absolute.ci[1] - fix.absolute.ci[0]
        assert seq.relative.ci[1] - seq.relative.ci[0] > fix.relative.ci[1] - fix.relative.ci[0]
        assert seq.absolute.p_value >= fix.absolute.p_value
        widths.append(seq.absolute.ci[1] - seq.absolute.ci[0])
    assert widths == sorted(widths, reverse=True)


def test_sequential_matches_the_gbstats_formula_and_p_inverts_the_interval() -> None:
    alpha, tau = 0.05, 5000
    (na, ca), (nb, cb) = (4000, 400), (4000, 470)
    pa, pb = ca / na, cb / nb
    v = pa * (1 - pa) / na + pb * (1 - pb) / nb
    n = na + nb
    rho = math.sqrt((-2 * math.log(alpha) + math.log(-2 * math.log(alpha) + 1)) / tau)
    width = math.sqrt(v * n) * math.sqrt(
        (2 * (n * rho**2 + 1)) * math.log(math.sqrt(n * rho**2 + 1) / alpha) / (n**2 * rho**2)
    )
    r = compare((na, ca), (nb, cb))
    assert r.absolute.ci == pytest.approx((pb - pa - width, pb - pa + width), rel=1e-12)
    # the p-value is the alpha at which the interval just touches zero
    p = r.absolute.p_value
    nr2 = n * rho**2
    at_p = math.sqrt(v * n) * math.sqrt(2 * (nr2 + 1) * math.log(math.sqrt(nr2 + 1) / p) / (n**2 * rho**2))
    assert at_p == pytest.approx(pb - pa, rel=1e-9)
    assert (p < alpha) == (r.absolute.ci[0] > 0)


def test_sequential_false_positive_rate_stays_below_alpha_under_peeking() -> None:
    rng = np.random.default_rng(5)
    hits_seq = hits_fix = 0
    runs = 300
    for _ in range(runs):
        a = rng.random((20, 500)) < 0.1
        b = rng.random((20, 500)) < 0.1
        ca, cb = np.cumsum(a.sum(axis=1)), np.cumsum(b.sum(axis=1))
        looks = [((500 * (k + 1), int(ca[k])), (500 * (k + 1), int(cb[k]))) for k in range(20)]
        hits_seq += any(compare(x, y).significant for x, y in looks)
        hits_fix += any(compare(x, y, sequential=False).significant for x, y in looks)
    assert hits_seq / runs <= 0.05
    assert hits_fix / runs > 0.1  # peeking at fixed-horizon p-values inflates false positives


def test_degenerate_inputs_are_explained_not_raised() -> None:
    r = compare((0, 0), (10, 1))
    assert r.absolute is None and r.note
    r = compare((100, 0), (100, 0))
    assert r.absolute.p_value == 1.0 and r.relative is None and "Control has no converters" in r.note
    assert r.chance_to_win == 0.5
    with pytest.raises(ValueError):
        compare((10, 11), (10, 1))


@pytest.mark.parametrize(("x", "df"), [(0.5, 1), (3.84, 1), (10.8, 1), (30.0, 2), (7.0, 5), (250.0, 3), (1e-3, 4)])
def test_chi2_sf_agrees_with_scipy(x: float, df: int) -> None:
    assert sig3(chi2_sf(x, df), sps.chi2.sf(x, df))


def test_srm_agrees_with_scipy_chisquare() -> None:
    obs, weights = [5000, 5200, 4800], [33, 33, 34]
    total = sum(obs)
    expected = [total * w / 100 for w in weights]
    assert sig3(srm_p_value(obs, weights), sps.chisquare(obs, expected).pvalue)


def test_srm_detects_48_52_at_large_n_and_not_a_fair_split() -> None:
    assert srm_p_value([48_000, 52_000], [50, 50]) < SRM_WARN_P
    assert srm_p_value([480, 520], [50, 50]) > SRM_WARN_P  # too few users to tell
    rng = np.random.default_rng(3)
    fair = rng.binomial(100_000, 0.5)
    assert srm_p_value([fair, 100_000 - fair], [50, 50]) > SRM_WARN_P
    assert srm_p_value([10, 5], [50, 0]) == 0.0  # users where there should be none
    assert srm_p_value([10, 0], [50, 0]) == 1.0  # a single live variant cannot mismatch
    assert SRM_WARN_P == 0.001


def _exp(users_c: int, conv_c: int, users_v: int, conv_v: int) -> Experiment:
    return Experiment(
        id="e",
        name="E",
        status="active",
        duration_days=14,
        min_sample_size=1000,
        traffic_split={"control": 50, "variant_a": 50},
        variants=(
            VariantStats(name="control", weight=50, users=users_c, converters=conv_c),
            VariantStats(name="variant_a", weight=50, users=users_v, converters=conv_v),
        ),
    )


def test_progress_reports_sample_time_and_days_to_significance() -> None:
    p = progress(_exp(500, 50, 520, 60), elapsed_days=2)
    assert p.users == 1020 and p.min_variant_users == 500 and p.sample_fraction == 0.5
    assert p.time_fraction == pytest.approx(2 / 14) and p.daily_users == 510
    assert p.days_to_significance is not None and p.days_to_significance > 0
    # after those days, at the same rates and effect, the result is significant (and not much before)
    days = p.days_to_significance
    grow = (p.users + days * p.daily_users) / p.users
    later = compare((round(500 * grow), round(50 * grow)), (round(520 * grow), round(60 * grow)))
    g = grow * 0.9
    earlier = compare((round(500 * g), round(50 * g)), (round(520 * g), round(60 * g)))
    assert later.absolute.p_value < 0.051 and earlier.absolute.p_value > 0.05
    fixed = progress(_exp(500, 50, 520, 60), elapsed_days=2, sequential=False)
    assert fixed.days_to_significance < days


def test_progress_when_it_cannot_tell() -> None:
    assert progress(_exp(500, 50, 500, 50), elapsed_days=1).days_to_significance is None  # no effect
    assert progress(_exp(500, 50, 520, 60), elapsed_days=0).days_to_significance is None  # no rate yet
    assert progress(_exp(50_000, 5_000, 50_000, 6_000), elapsed_days=1).days_to_significance == 0.0
    assert progress(_exp(48_000, 0, 52_000, 0), elapsed_days=1).srm_p < SRM_WARN_P
    assert half_width(1e-4, 1000, 0.05, sequential=False) == pytest.approx(1.959964 * 1e-2, rel=1e-6)
