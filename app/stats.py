"""Statistics for conversion experiments: estimates, intervals, p-values, SRM, progress.

Every result carries its inputs, so a screen can show "why". Pure Python
(math + statistics.NormalDist): no SciPy at run time; the tests check the
fixed-horizon numbers against SciPy.

Model: each user converts or not, so a variant with n users and c converters
has rate p = c/n and per-user variance p(1-p). With control a and variant b:

- absolute effect  d = p_b - p_a,          Var = v_b/n_b + v_a/n_a
- relative effect  r = (p_b - p_a) / p_a,  Var (delta method)
  = v_b/(p_a^2 n_b) + v_a p_b^2/(p_a^4 n_a)

Fixed horizon (one look at a planned sample size): normal intervals
est ± z_{1-alpha/2}·se and two-sided p = 2·Phi(-|est|/se).

Sequential (default; valid however often the room refreshes): the
normal-mixture confidence sequence ("always valid inference"), as GrowthBook's
gbstats `SequentialTwoSidedTTest` computes it. With N = n_a + n_b, V the
variance of the estimate and tuning parameter tau (default 5000):

    rho^2      = (-2 ln(alpha) + ln(-2 ln(alpha) + 1)) / tau
    half-width = sqrt(V·N) · sqrt( 2(N rho^2 + 1) · ln( sqrt(N rho^2 + 1) / alpha ) / (N^2 rho^2) )

and the matching always-valid p-value (the smallest alpha whose sequence
excludes 0, rho held at the requested alpha; the mixture-SPRT p-value):

    p = min(1, sqrt(N rho^2 + 1) · exp( -z^2 · N rho^2 / (2 (N rho^2 + 1)) )),  z = est / sqrt(V)

References: Howard, Ramdas, McAuliffe, Sekhon, "Time-uniform, nonparametric,
nonasymptotic confidence sequences", Ann. Statist. 49(2), 2021 (normal mixture,
eq. 14); Waudby-Smith et al., "Time-uniform central limit theory and
asymptotic confidence sequences", arXiv:2103.06476 (rho, eq. 161, as used by
gbstats); Johari, Pekelis, Walsh, "Always valid inference", 2015 (mSPRT p-values).

Chance to win is the normal approximation P(d > 0) = Phi(d / se(d)).
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass, field, replace
from statistics import NormalDist

from app.model import Experiment, VariantStats

#: Sample-ratio-mismatch warning threshold on the chi-square p-value.
SRM_WARN_P = 0.001
#: gbstats' default sequential tuning parameter (the N at which the sequence is tightest, roughly).
DEFAULT_TUNING = 5000.0
_N = NormalDist()


@dataclass(frozen=True)
class Estimate:
    estimate: float
    ci: tuple[float, float]
    p_value: float
    std_error: float


@dataclass(frozen=True)
class Comparison:
    """A variant against control, with the inputs that produced it."""

    control: tuple[int, int]  # (users, converters)
    variant: tuple[int, int]
    sequential: bool
    alpha: float
    tuning: float
    control_rate: float | None = None
    variant_rate: float | None = None
    absolute: Estimate | None = None
    relative: Estimate | None = None
    chance_to_win: float | None = None
    note: str = ""  # why a part is missing, one sentence

    @property
    def significant(self) -> bool:
        return self.absolute is not None and self.absolute.p_value < self.alpha


def _rho2(alpha: float, tuning: float) -> float:
    return (-2 * math.log(alpha) + math.log(-2 * math.log(alpha) + 1)) / tuning


def half_width(variance: float, n_total: int, alpha: float, sequential: bool, tuning: float = DEFAULT_TUNING) -> float:
    """Half-width of the two-sided interval for an estimate with `variance` (see module doc)."""
    if not sequential:
        return _N.inv_cdf(1 - alpha / 2) * math.sqrt(variance)
    x = n_total * _rho2(alpha, tuning)  # N rho^2
    return math.sqrt(variance * n_total) * math.sqrt(2 * (x + 1) * math.log(math.sqrt(x + 1) / alpha) / (n_total * x))


def _p_value(est: float, variance: float, n_total: int, alpha: float, sequential: bool, tuning: float) -> float:
    z = est / math.sqrt(variance)
    if not sequential:
        return min(1.0, 2 * _N.cdf(-abs(z)))
    x = n_total * _rho2(alpha, tuning)
    return min(1.0, math.sqrt(x + 1) * math.exp(-z * z * x / (2 * (x + 1))))


def _estimate(est: float, variance: float, n_total: int, alpha: float, sequential: bool, tuning: float) -> Estimate:
    if variance <= 0:  # nothing varies (no converters, or all): uninformative, as gbstats does
        return Estimate(estimate=est, ci=(est, est), p_value=1.0, std_error=0.0)
    w = half_width(variance, n_total, alpha, sequential, tuning)
    return Estimate(
        est, (est - w, est + w), _p_value(est, variance, n_total, alpha, sequential, tuning), math.sqrt(variance)
    )


def _check_counts(name: str, users: int, converters: int) -> None:
    if users < 0 or converters < 0 or converters > users:
        raise ValueError(f"{name} must have 0 <= converters <= users, got {converters}/{users}.")


def compare(
    control: tuple[int, int],
    variant: tuple[int, int],
    sequential: bool = True,
    alpha: float = 0.05,
    tuning: float = DEFAULT_TUNING,
) -> Comparison:
    """Variant vs control from (users, converters) each; see the module doc for the formulas."""
    (n_a, c_a), (n_b, c_b) = control, variant
    _check_counts("control", n_a, c_a)
    _check_counts("variant", n_b, c_b)
    if not 0 < alpha < 1 or tuning <= 0:
        raise ValueError("alpha must be in (0, 1) and the tuning parameter positive.")
    base = Comparison(control=(n_a, c_a), variant=(n_b, c_b), sequential=sequential, alpha=alpha, tuning=tuning)
    if n_a == 0 or n_b == 0:
        return replace(base, note="Both control and variant need users before they can be compared.")
    p_a, p_b = c_a / n_a, c_b / n_b
    v_a, v_b = p_a * (1 - p_a), p_b * (1 - p_b)
    n = n_a + n_b
    var_abs = v_b / n_b + v_a / n_a
    absolute = _estimate(p_b - p_a, var_abs, n, alpha, sequential, tuning)
    relative, note = None, ""
    if p_a > 0:
        var_rel = v_b / (p_a**2 * n_b) + v_a * p_b**2 / (p_a**4 * n_a)
        relative = _estimate((p_b - p_a) / p_a, var_rel, n, alpha, sequential, tuning)
    else:
        note = "Control has no converters yet, so the relative change is undefined."
    d = p_b - p_a
    ctw = _N.cdf(d / math.sqrt(var_abs)) if var_abs > 0 else (0.5 if d == 0 else float(d > 0))
    return replace(
        base, control_rate=p_a, variant_rate=p_b, absolute=absolute, relative=relative, chance_to_win=ctw, note=note
    )


# ---------------------------------------------------------------- sample ratio mismatch


def chi2_sf(x: float, df: int) -> float:
    """P(X > x) for X ~ chi-square(df): the regularized upper incomplete gamma Q(df/2, x/2)."""
    if df <= 0:
        raise ValueError("degrees of freedom must be positive.")
    if x <= 0:
        return 1.0
    a, y = df / 2, x / 2
    lg = a * math.log(y) - y - math.lgamma(a)
    if y < a + 1:  # series for P, then Q = 1 - P
        term = total = 1 / a
        k = a
        while abs(term) > abs(total) * 1e-16:
            k += 1
            term *= y / k
            total += term
        return max(0.0, 1 - total * math.exp(lg))
    # continued fraction for Q (modified Lentz)
    tiny = 1e-300
    b = y + 1 - a
    c, d = 1 / tiny, 1 / b
    h = d
    for i in range(1, 10_000):
        an = -i * (i - a)
        b += 2
        d = an * d + b
        d = tiny if abs(d) < tiny else d
        c = b + an / c
        c = tiny if abs(c) < tiny else c
        d = 1 / d
        delta = d * c
        h *= delta
        if abs(delta - 1) < 1e-16:
            break
    return math.exp(lg) * h


def srm_p_value(users_per_variant: Sequence[int], expected_weights: Sequence[float]) -> float:
    """Chi-square goodness-of-fit p-value of the observed users against the configured split.

    Weights need not add up to 1 or 100. Below `SRM_WARN_P` the split is
    broken (assignment, redirects, bots...) and the results cannot be trusted.
    """
    if len(users_per_variant) != len(expected_weights):
        raise ValueError("There must be one expected weight per variant.")
    total_w = sum(expected_weights)
    total = sum(users_per_variant)
    if total == 0 or total_w <= 0:
        return 1.0
    stat, k = 0.0, 0
    for o, w in zip(users_per_variant, expected_weights, strict=True):
        if w <= 0:
            if o > 0:
                return 0.0  # users in a variant that should get none
            continue
        e = total * w / total_w
        stat += (o - e) ** 2 / e
        k += 1
    return 1.0 if k < 2 else chi2_sf(stat, k - 1)


# ---------------------------------------------------------------- progress


@dataclass(frozen=True)
class Progress:
    users: int
    min_variant_users: int
    min_sample_size: int  # per variant, as configured
    sample_fraction: float | None  # min_variant_users / min_sample_size, capped at 1
    elapsed_days: float
    duration_days: float
    time_fraction: float | None
    daily_users: float | None
    days_to_significance: float | None  # 0: already significant; None: cannot tell yet
    per_variant_days: dict[str, float | None] = field(default_factory=dict)
    srm_p: float = 1.0


def _growth_needed(a: VariantStats, b: VariantStats, alpha: float, sequential: bool, tuning: float) -> float | None:
    """By what factor the sample must grow (same shares, effect and variances) for |d| to clear
    the interval: 0 when it already does, None when it never will (no effect, no variance)."""
    if not (a.users and b.users):
        return None
    p_a, p_b = a.converters / a.users, b.converters / b.users
    d, v_a, v_b = abs(p_b - p_a), p_a * (1 - p_a), p_b * (1 - p_b)
    if d == 0 or v_a + v_b == 0:
        return None
    n_now = a.users + b.users

    def clears(scale: float) -> bool:
        var = v_a / (a.users * scale) + v_b / (b.users * scale)
        return half_width(var, max(1, round(n_now * scale)), alpha, sequential, tuning) < d

    if clears(1.0):
        return 0.0
    lo, hi = 1.0, 2.0
    while not clears(hi):
        lo, hi = hi, hi * 2
        if hi > 1e12:
            return None
    for _ in range(60):
        mid = (lo + hi) / 2
        lo, hi = (lo, mid) if clears(mid) else (mid, hi)
    return hi


def progress(
    experiment: Experiment,
    elapsed_days: float,
    *,
    control: str = "control",
    alpha: float = 0.05,
    sequential: bool = True,
    tuning: float = DEFAULT_TUNING,
) -> Progress:
    """Where an experiment stands: sample size, time, and days to significance at the current rate.

    `min_sample_size` is read per variant (the least-populated variant
    counts). Days to significance: for each variant against `control`, the
    users needed for the observed absolute difference to clear the interval
    (at the observed traffic shares, effect and variances), divided by the
    current daily rate; the overall figure is the first variant to get there.
    """
    variants = experiment.variants
    users = sum(v.users for v in variants)
    min_users = min((v.users for v in variants), default=0)
    mss = experiment.min_sample_size
    daily = users / elapsed_days if elapsed_days > 0 else None
    base = next((v for v in variants if v.name == control), variants[0] if variants else None)
    per: dict[str, float | None] = {}
    for v in variants:
        if base is None or v is base:
            continue
        scale = _growth_needed(base, v, alpha, sequential, tuning)
        if scale is None or not daily:
            per[v.name] = 0.0 if scale == 0 else None
        else:
            per[v.name] = max(0.0, (scale - 1) * users / daily)
    known = [d for d in per.values() if d is not None]
    srm = srm_p_value([v.users for v in variants], [v.weight for v in variants]) if variants else 1.0
    return Progress(
        users=users,
        min_variant_users=min_users,
        min_sample_size=mss,
        sample_fraction=min(1.0, min_users / mss) if mss else None,
        elapsed_days=elapsed_days,
        duration_days=experiment.duration_days,
        time_fraction=min(1.0, elapsed_days / experiment.duration_days) if experiment.duration_days else None,
        daily_users=daily,
        days_to_significance=min(known) if known else None,
        per_variant_days=per,
        srm_p=srm,
    )
