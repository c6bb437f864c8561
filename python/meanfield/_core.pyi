"""Type stubs of the native module ``meanfield._core`` (built from crates/python)."""
from typing import Any, Callable, Optional, Sequence, Tuple, Union

import numpy as np
import numpy.typing as npt

Array = npt.NDArray[np.float64]
Observation = dict[str, Any]
"""``{"step": int, "time": float, "state": dict, "info": dict | None}``."""

__version__: str

def test_function(name: str, x: Array, shift: Optional[Array] = None) -> Array:
    """Values of the built-in test function ``name`` (rastrigin, ackley, rosenbrock,
    griewank, schwefel; CBXpy 1.0.4's definitions) at the rows of the (N, d) array ``x``."""

def replicate_seed(seed: int, stratum: int, r: int) -> int:
    """The seed of replicate ``r`` of ``stratum`` of the base ``seed`` (the Rust
    ``replicate_seed``): run r of ``minimize(…, seed=s)`` has seed
    ``replicate_seed(s, 0, r)``, so ``start(x0[r], seed=replicate_seed(s, 0, r))``
    followed by ``run`` repeats it."""

RunSummary = dict[str, Any]
"""``{"reason": str, "steps_taken": int, "mean_acceptance": float | None,
"last_info": dict | None}``."""

class _Run:
    """What every run class has: the Rust ``Checkpoint`` of one run."""

    x: Array
    """The particles, a new (N, d) array."""
    step: int
    """Steps taken so far."""
    time: float
    """Physical time reached."""
    seed: int
    """The run's seed."""
    def to_json(self) -> str:
        """The checkpoint as JSON (floats round-trip exactly)."""
    def save(self, path: str) -> None:
        """Writes the checkpoint JSON to ``path``."""

class _Dynamics:
    """What every dynamics class has: ``run`` (the Rust ``Runner``) and ``fingerprint``."""

    def run(
        self,
        run: Any,
        steps: int,
        *,
        energy_tol: Optional[float] = None,
        stagnation: Optional[Tuple[float, int]] = None,
        ess_below: Optional[float] = None,
        time_budget: Optional[float] = None,
        stop_when: Optional[Callable[[Observation], bool]] = None,
        observers: Optional[Sequence[Tuple[int, Callable[[Observation], Any]]]] = None,
        progress: Union[None, bool, Callable[[int, int], Any]] = None,
    ) -> RunSummary:
        """Advances ``run`` until it has ``steps`` steps in total, or a stop criterion, an
        observer returning True, ``stop_when(obs)`` or the time budget (seconds) ends it.
        A criterion the family does not report raises ``UnsupportedStopError``; a failing
        callback re-raises its own exception; the GIL is released while Rust works."""
    def fingerprint(self) -> str:
        """The fingerprint stored in this dynamics' checkpoints (a checkpoint of other
        dynamics is refused with ``CheckpointError``)."""

class Functional:
    """A built-in energy functional F(μ) of ``meanfield-energy`` (for ``MFLD`` and
    ``FisherRao``). A Python functional is instead any object with ``value(X)``,
    ``first_variation(X) -> (N,)`` and ``grad(X) -> (N, d)``, called once per step on the
    whole ensemble (``(X, w)`` on a weighted ensemble), plus, for the ``"adjusted"``
    scheme, ``first_variation_at(X, Y) -> (values (M,), grads (M, d))``."""

    d: int
    """The dimension."""
    @staticmethod
    def quadratic(kappa: float, b: Array) -> "Functional":
        """∫|x|²/2 dμ + κ/2 |m(μ) − b|²; MFLD's stationary law is N(κb/(1+κ), λI)."""
    @staticmethod
    def simplex_moment(q: Array, beta: float) -> "Functional":
        """‖E x − q‖² + β Σ_i E[−ln x_i] on the simplex, d = len(q)."""
    @staticmethod
    def linear(c: Array) -> "Functional":
        """∫ c·x dμ (the Fisher–Rao oracle)."""
    @staticmethod
    def mean_interaction(kappa: float, b: Array) -> "Functional":
        """(κ/2)|E x − b|²."""
    @staticmethod
    def two_layer(inputs: Array, targets: Array, l2: float = 0.0) -> "Functional":
        """The mean-field two-layer tanh network f_μ(z) = E_μ[a tanh(w·z)] on the data
        ``inputs`` (M, p) → ``targets`` (M,): F = (1/2M) Σ_j (f_μ(z_j) − y_j)² +
        (l2/2) E_μ|θ|²; a particle is a hidden unit θ = (a, w), d = 1 + p. Freezable, so
        the ``"adjusted"`` MFLD scheme takes it."""
    def predict(self, x: Array, z: Array, w: Optional[Array] = None) -> Array:
        """The two-layer network's f_μ at the rows of ``z`` (K, p) for the units ``x``
        (N, 1 + p); ValueError for other functionals."""
    def value(self, x: Array, w: Optional[Array] = None) -> float:
        """F at the (N, d) ensemble ``x`` (weights ``w`` if given)."""
    def first_variation(self, x: Array, w: Optional[Array] = None) -> Array:
        """δF/δμ at the particles, shape (N,)."""
    def grad(self, x: Array, w: Optional[Array] = None) -> Array:
        """∇_x δF/δμ at the particles, shape (N, d)."""
    def first_variation_at(self, x: Array, y: Array) -> Tuple[Array, Array]:
        """(V (M,), ∇V (M, d)) with V = δF/δμ(μ_x, ·) at the rows of ``y`` under the
        frozen measure of the ensemble ``x`` (freezable functionals only). A Python
        functional with this method (called once per step with the ensemble and all N
        proposals) can run the ``"adjusted"`` MFLD scheme."""
    def fingerprint(self) -> str:
        """The fingerprint this functional contributes to checkpoints."""

class LangevinRun(_Run):
    """A resumable Langevin run (the Rust ``Checkpoint<Ensemble>``)."""

    @staticmethod
    def from_json(s: str) -> "LangevinRun":
        """A run from ``to_json`` output."""
    @staticmethod
    def load(path: str) -> "LangevinRun":
        """Reads a checkpoint file written by ``save``."""

class MFLD(_Dynamics):
    """Mean-field Langevin dynamics: ``scheme="euler"`` (R^d), ``"projected"``,
    ``"mirror"`` (the paper's dual Euler step) or ``"adjusted"`` (Metropolis-adjusted
    mirror step, no η-bias; built-in ``quadratic`` / ``simplex_moment`` only), on
    ``domain="euclidean"``, ``"simplex"`` (entropic mirror map) or ``"box"`` with
    ``lower`` / ``upper`` (log-barrier mirror map; ``upper=inf`` is the orthant)."""

    def __init__(
        self,
        functional: Union[str, Functional, Any],
        *,
        lam: float,
        eta: float,
        scheme: str = "euler",
        domain: str = "euclidean",
        lower: Optional[Array] = None,
        upper: Optional[Array] = None,
        d: Optional[int] = None,
        kappa: float = 1.0,
        b: Optional[Array] = None,
        threads: int = 1,
    ) -> None: ...
    def start(self, x0: Array, seed: int = 0) -> LangevinRun:
        """A fresh run from the (N, d) array ``x0`` (on the dynamics' domain)."""
    def value(self, x: Array) -> float:
        """F at the (N, d) ensemble ``x``."""

class WeightedRun(_Run):
    """A resumable Fisher–Rao run: positions and weights."""

    w: Array
    """The weights W^i, a new (N,) array summing to 1."""
    ess: float
    """The effective sample size 1/Σ W²."""
    @staticmethod
    def from_json(s: str) -> "WeightedRun":
        """A run from ``to_json`` output."""
    @staticmethod
    def load(path: str) -> "WeightedRun":
        """Reads a checkpoint file written by ``save``."""

class FisherRao(_Dynamics):
    """Kernelised Fisher–Rao flow of V^σ = F + σ KL(· | π), π = N(reference_mean,
    reference_std² I), on the particle weights; ``kernelisation`` one of
    ``"density_ratio"``, ``"evolving_measure"``, ``"both_measures"``, ``"energy"``,
    ``"smoothed_kl"`` with ``kernel`` ``"gaussian"`` / ``"bump"`` of bandwidth ``eps``;
    ``step`` ``"exponentiated"`` / ``"euler"`` (``shrink``: safety factor of the guard);
    ``resample_below``: systematic resampling when ESS < fraction·N; ``transport``:
    Wasserstein–Fisher–Rao."""

    def __init__(
        self,
        functional: Union[Functional, Any],
        *,
        sigma: float,
        h: float,
        d: Optional[int] = None,
        reference_mean: Optional[Array] = None,
        reference_std: float = 1.0,
        kernelisation: str = "density_ratio",
        kernel: str = "gaussian",
        eps: float = 1.0,
        step: str = "exponentiated",
        shrink: Optional[float] = None,
        resample_below: Optional[float] = None,
        transport: bool = False,
        threads: int = 1,
    ) -> None: ...
    def start(self, x0: Array, seed: int = 0, w0: Optional[Array] = None) -> WeightedRun:
        """A fresh run from positions ``x0`` (N, d) and weights ``w0`` (uniform if None)."""
    def rate(self, x: Array, w: Optional[Array] = None) -> Array:
        """The centred rate a(m^N, X^i) of dW^i/dt = −W^i a_i, shape (N,)."""

class LatentModel:
    """A built-in latent-variable model E(θ, x) = −log p_θ(x, y). A Python model is any
    object with ``energy(theta, X) -> (N,)``, ``grad_theta(theta, X) -> (N, p)`` and
    ``grad_x(theta, X) -> (N, d)``, each gradient called once per step on all particles."""

    p: int
    """dim θ."""
    d: int
    """dim x."""
    @staticmethod
    def toy(y: Array) -> "LatentModel":
        """The toy hierarchical Gaussian (x_j ~ N(θ, 1), y_j ~ N(x_j, 1)); MLE mean(y)."""
    @staticmethod
    def logistic(features: Array, labels: Array, prior_var: float = 5.0) -> "LatentModel":
        """Bayesian logistic regression on (M, K) features and (M,) labels in {0, 1}."""
    @staticmethod
    def decoder(
        data: Array,
        latent: int,
        hidden: int,
        likelihood: str = "bernoulli",
        sigma: Optional[float] = None,
    ) -> "LatentModel":
        """The one-hidden-layer tanh decoder of images ``data`` (M, D) from codes
        z_j ∈ R^latent, θ = (W₁, b₁, W₂, b₂), p = hidden·latent + hidden + D·hidden + D,
        x the M stacked codes (d = M·latent); Bernoulli pixels (data in [0, 1]) or
        Gaussian with standard deviation ``sigma``."""
    def mle(self) -> float:
        """The toy model's MLE (ValueError for other models)."""
    def energy(self, theta: Array, x: Array) -> Array:
        """E(θ, x) at every row of the (N, d) array ``x``."""
    def fingerprint(self) -> str:
        """The fingerprint this model contributes to checkpoints."""

class LatentRun(_Run):
    """A resumable particle-EM run: θ, particles and (MPD) momenta."""

    theta: Array
    """The parameters θ, shape (p,)."""
    theta_momentum: Optional[Array]
    """MPD's θ-momentum (None for PGD)."""
    x_momentum: Optional[Array]
    """MPD's particle momenta, shape (N, d) (None for PGD)."""
    @staticmethod
    def from_json(s: str) -> "LatentRun":
        """A run from ``to_json`` output."""
    @staticmethod
    def load(path: str) -> "LatentRun":
        """Reads a checkpoint file written by ``save``."""

class PGD(_Dynamics):
    """Particle gradient descent: θ ← θ − h_θ (1/N) Σ ∇_θE, X ← X − h_x ∇_xE + √(2h_x) ξ."""

    def __init__(
        self,
        model: Union[LatentModel, Any],
        *,
        h_theta: float,
        h_x: float,
        p: Optional[int] = None,
        d: Optional[int] = None,
        threads: int = 1,
    ) -> None: ...
    def start(self, x0: Array, seed: int = 0, theta0: Optional[Array] = None) -> LatentRun:
        """A fresh run from the (N, d) particles ``x0`` and θ = ``theta0``."""

class MPD(_Dynamics):
    """Momentum particle descent (exact damped-Langevin particle step)."""

    def __init__(
        self,
        model: Union[LatentModel, Any],
        *,
        h_theta: float,
        h_x: float,
        eta_theta: float = 1.0,
        gamma_theta: float = 1.0,
        eta_x: float = 1.0,
        gamma_x: float = 1.0,
        p: Optional[int] = None,
        d: Optional[int] = None,
        threads: int = 1,
    ) -> None: ...
    def start(self, x0: Array, seed: int = 0, theta0: Optional[Array] = None) -> LatentRun:
        """A fresh run; momenta m = 0, U^i ~ N(0, I/η_x)."""

class PQN(_Dynamics):
    """ParEM's particle quasi-Newton: PGD's particle step, θ ← θ − h_θ H̄⁻¹ ∇_θ with
    H̄ = (1/N) Σ_i ∇²_θ E(θ, X^i) (h_theta = 1 is a full Newton step). ``model``: a
    built-in model with ∇²_θ E (``toy``, ``logistic``; the decoder raises
    ``EnergyError``) or a Python model as for ``PGD`` that also has
    ``hess_theta(theta, X) -> (N, p, p)``, called once per step on all particles (and
    once by the constructor on a zero particle, to check it); without it ``ValueError``
    naming ``hess_theta``. A wrong shape or NaN is a ``ValueError`` naming the step."""

    def __init__(
        self,
        model: Union[LatentModel, Any],
        *,
        h_theta: float,
        h_x: float,
        p: Optional[int] = None,
        d: Optional[int] = None,
        threads: int = 1,
    ) -> None: ...
    def start(self, x0: Array, seed: int = 0, theta0: Optional[Array] = None) -> LatentRun:
        """A fresh run from the (N, d) particles ``x0`` and θ = ``theta0``."""

class PMGD(_Dynamics):
    """ParEM's particle marginal gradient descent: X ← X − h_x ∇_x E(θ, X) + √(2h_x) ξ,
    then θ ← θ*(X), the closed-form minimiser. ``model``: a built-in model with θ*(q)
    (``toy``, ``logistic``; the decoder raises ``EnergyError``) or a Python model as for
    ``PGD`` that also has ``optimal_theta(X) -> (p,)``, called once per step on all
    particles (and at ``start`` for θ*(X₀), and once by the constructor to check it);
    without it ``ValueError`` naming ``optimal_theta``."""

    def __init__(
        self,
        model: Union[LatentModel, Any],
        *,
        h_x: float,
        p: Optional[int] = None,
        d: Optional[int] = None,
        threads: int = 1,
    ) -> None: ...
    def start(self, x0: Array, seed: int = 0, theta0: Optional[Array] = None) -> LatentRun:
        """A fresh run from the (N, d) particles ``x0`` (θ becomes θ*(X) at the first step)."""

class CboRun:
    """A resumable CBO run (the Rust ``Checkpoint<CboState>``); also the run of ``CBS``
    and ``ConstrainedCBO``, whose state is CBO's."""

    x: Array
    """The particles, a new (N, d) array."""
    step: int
    """Steps taken so far."""
    time: float
    """Physical time reached."""
    seed: int
    """The run's seed."""
    alpha: float
    """α of the next step."""
    consensus: Array
    """Consensus point of the last step (empty before the first)."""
    best_x: Array
    """Best particle seen so far."""
    best_f: float
    """Its objective value (inf before the first step)."""
    evaluations: int
    """Objective evaluations so far."""
    def state(self) -> dict[str, Any]:
        """The state dict observers receive."""
    def to_json(self) -> str:
        """The checkpoint as JSON (floats round-trip exactly)."""
    @staticmethod
    def from_json(s: str) -> "CboRun":
        """A run from ``to_json`` output (``CheckpointError`` if malformed)."""
    def save(self, path: str) -> None:
        """Writes the checkpoint JSON to ``path``."""
    @staticmethod
    def load(path: str) -> "CboRun":
        """Reads a checkpoint file written by ``save``."""

class CBO:
    """Consensus-based optimisation on a built-in test function or a Python objective
    ``f(X)`` called once per step on the whole array (``f_dim="2D"``: X (N, d) → (N,);
    ``"3D"``: X (M, N, d) → (M, N), with M = 1 for ``start``/``run`` and the M runs
    still going for ``minimize``)."""

    def __init__(
        self,
        objective: Union[str, Callable[[Array], Array]],
        d: int,
        *,
        lam: float = 1.0,
        sigma: float = 1.0,
        dt: float = 0.01,
        alpha: float = 1.0,
        schedule: Union[None, str, dict[str, Any]] = None,
        noise: str = "anisotropic",
        batch_size: Optional[int] = None,
        batch_partial: bool = True,
        f_dim: str = "2D",
        shift: Optional[Array] = None,
        threads: int = 1,
    ) -> None: ...
    def start(self, x0: Array, seed: int = 0) -> CboRun:
        """A fresh run from the (N, d) array ``x0``."""
    def run(
        self,
        run: CboRun,
        steps: int,
        *,
        energy_tol: Optional[float] = None,
        stagnation: Optional[Tuple[float, int]] = None,
        ess_below: Optional[float] = None,
        time_budget: Optional[float] = None,
        stop_when: Optional[Callable[[Observation], bool]] = None,
        observers: Optional[Sequence[Tuple[int, Callable[[Observation], Any]]]] = None,
        progress: Union[None, bool, Callable[[int, int], Any]] = None,
    ) -> dict[str, Any]:
        """Advances ``run`` to ``steps`` steps in total (or until a criterion fires);
        returns ``{"reason", "steps_taken", "mean_acceptance", "last_info"}``."""
    def minimize(
        self,
        x0: Array,
        max_steps: int,
        *,
        seed: int = 0,
        energy_tol: Optional[float] = None,
        stagnation: Optional[Tuple[float, int]] = None,
    ) -> dict[str, Any]:
        """Independent runs from x0 of shape (N, d) or (M, N, d) to their outcomes (run r
        with seed ``replicate_seed(seed, 0, r)``). A Python objective with
        ``f_dim="3D"`` is called once per step on the (M', N, d) stack of the M' runs
        still going (the Rust ``run_replicas_lockstep``); the outcomes are identical to
        separate runs. Returns a dict of arrays: consensus (M, d), consensus_value,
        best_x (M, d), best_f, alpha, steps, evaluations (M,) and reason (list)."""
    def fingerprint(self) -> str:
        """The fingerprint stored in this optimiser's checkpoints."""
    def objective_values(self, x: Array) -> Array:
        """The objective at the rows of the (N, d) array ``x``."""

Objective = Union[str, Callable[[Array], Array]]
"""A test-function name (rastrigin, ackley, rosenbrock, griewank, schwefel) or a callable
``f(X)`` called once per step on the whole array, CBXpy's ``f_dim`` conventions."""

class _ManyRuns:
    """``minimize``: M independent runs of a consensus variant (CBS, CBO with memory,
    PSO, mirror and constrained CBO), as ``CBO.minimize``."""

    def minimize(
        self,
        x0: Array,
        max_steps: int,
        *,
        seed: int = 0,
        energy_tol: Optional[float] = None,
        stagnation: Optional[Tuple[float, int]] = None,
    ) -> dict[str, Any]:
        """Independent runs from x0 of shape (N, d) or (M, N, d) (each block on the
        dynamics' domain) to their outcomes: run r has seed ``replicate_seed(seed, 0, r)``
        and equals ``start(x0[r], seed=replicate_seed(seed, 0, r))`` + ``run`` bit for
        bit. Built-in objectives spread the runs over ``threads``; a Python objective
        with ``f_dim="3D"`` is called once per step on the (M', N, d) stack of the runs
        still going (plus once per run for f(consensus) of its outcome). Returns the dict
        of ``CBO.minimize``."""

class _ConsensusRun(_Run):
    """What every consensus run has besides the checkpoint: CBO's state."""

    alpha: float
    """α (β for CBS) of the next step."""
    consensus: Array
    """Consensus point of the last step (empty before the first)."""
    best_x: Array
    """Best particle (for memory and PSO: best memory) seen so far."""
    best_f: float
    """Its objective value (inf before the first step)."""
    evaluations: int
    """Objective evaluations so far."""
    def state(self) -> dict[str, Any]:
        """The state dict observers receive (CBO's keys plus the variant's arrays)."""

class PolarCboRun(_ConsensusRun):
    """A resumable polarised CBO run."""

    points: Array
    """Every particle's consensus point of the last step, (N, d)."""
    @staticmethod
    def from_json(s: str) -> "PolarCboRun": ...
    @staticmethod
    def load(path: str) -> "PolarCboRun": ...

class CboMemoryRun(_ConsensusRun):
    """A resumable run of CBO with memory."""

    memory: Array
    """The personal bests Y, (N, d)."""
    memory_values: Array
    """f(Y^i), (N,)."""
    @staticmethod
    def from_json(s: str) -> "CboMemoryRun": ...
    @staticmethod
    def load(path: str) -> "CboMemoryRun": ...

class PsoRun(_ConsensusRun):
    """A resumable PSO run."""

    memory: Array
    """The personal bests Y, (N, d)."""
    memory_values: Array
    """f(Y^i), (N,)."""
    velocity: Array
    """The velocities V, (N, d)."""
    @staticmethod
    def from_json(s: str) -> "PsoRun": ...
    @staticmethod
    def load(path: str) -> "PsoRun": ...

class MirrorCboRun(_ConsensusRun):
    """A resumable mirror CBO run."""

    dual: Array
    """The dual particles Y = ∇φ(X) the scheme moves, (N, d)."""
    @staticmethod
    def from_json(s: str) -> "MirrorCboRun": ...
    @staticmethod
    def load(path: str) -> "MirrorCboRun": ...

class CBS(_Dynamics, _ManyRuns):
    """Consensus-based sampling: dX = −(X − M_β) dt + √(2 λ⁻¹ C_β) dW with the weighted
    mean and covariance; ``mode="optimization"`` (λ = 1) or ``"sampling"``
    (λ = 1/(1 + β): for a Gaussian target its law is stationary). Runs are ``CboRun``s."""

    def __init__(
        self,
        objective: Objective,
        d: int,
        *,
        mode: str = "optimization",
        dt: float = 0.01,
        alpha: float = 1.0,
        schedule: Union[None, str, dict[str, Any]] = None,
        scheme: str = "exponential",
        root: str = "cholesky",
        f_dim: str = "2D",
        shift: Optional[Array] = None,
        threads: int = 1,
    ) -> None:
        """``scheme``: ``"exponential"`` (the paper's, exact for frozen M, C) or
        ``"euler_maruyama"`` (CBXpy's); ``root``: ``"cholesky"`` (needs N ≥ d + 1) or
        ``"symmetric"``."""
    def start(self, x0: Array, seed: int = 0) -> CboRun:
        """A fresh run from the (N, d) array ``x0``."""
    def last_covariance(self) -> Array:
        """C_β of the last step, (d, d) ((0, 0) before the first)."""

class PolarCBO(_Dynamics):
    """Polarised CBO: every particle drifts to its own kernel-localised consensus (kernel
    width ``kappa``), so one run can settle on several minimisers."""

    def __init__(
        self,
        objective: Objective,
        d: int,
        *,
        kappa: float,
        kernel_scale: str = "constant",
        lam: float = 1.0,
        sigma: float = 1.0,
        dt: float = 0.01,
        alpha: float = 1.0,
        schedule: Union[None, str, dict[str, Any]] = None,
        noise: str = "anisotropic",
        f_dim: str = "2D",
        shift: Optional[Array] = None,
        threads: int = 1,
    ) -> None:
        """``kernel_scale``: ``"constant"`` (exponent 1, the paper's) or ``"alpha"``
        (exponent α, CBXpy's default)."""
    def start(self, x0: Array, seed: int = 0) -> PolarCboRun:
        """A fresh run from the (N, d) array ``x0``."""
    def minimisers(
        self, run: PolarCboRun, radius: float, min_fraction: float = 0.0
    ) -> list[dict[str, Any]]:
        """The distinct minimisers among the last step's consensus points: greedy clusters
        of ``radius`` with at least ``min_fraction``·N points, largest first,
        ``{"centre": (d,), "value": float, "size": int}``."""
    def minimize(
        self,
        x0: Array,
        max_steps: int,
        *,
        radius: float,
        min_fraction: float = 0.0,
        seed: int = 0,
        energy_tol: Optional[float] = None,
        stagnation: Optional[Tuple[float, int]] = None,
    ) -> dict[str, Any]:
        """M independent runs from x0 of shape (N, d) or (M, N, d), run r with seed
        ``replicate_seed(seed, 0, r)`` (bit for bit ``start(x0[r], seed=…)`` + ``run`` +
        ``minimisers(run, radius, min_fraction)``); a Python objective with
        ``f_dim="3D"`` is called once per step on the (M', N, d) stack of the runs still
        going. Returns the dict of ``CBO.minimize`` plus three lists of length M (the
        number K_r of minimisers differs between runs): ``minimisers[r]`` (K_r, d), the
        cluster centres, largest cluster first; ``minimiser_values[r]`` (K_r,),
        f(centre); ``minimiser_sizes[r]``, a list of K_r ints (points per cluster)."""

class CBOMemory(_Dynamics, _ManyRuns):
    """CBO with memory: the consensus of the personal bests plus a drift towards each
    particle's own best (λ_m, σ_m). ``start`` evaluates f once on x0."""

    def __init__(
        self,
        objective: Objective,
        d: int,
        *,
        lambda_memory: float = 0.4,
        sigma_memory: Optional[float] = None,
        lam: float = 1.0,
        sigma: float = 1.0,
        dt: float = 0.01,
        alpha: float = 1.0,
        schedule: Union[None, str, dict[str, Any]] = None,
        noise: str = "anisotropic",
        f_dim: str = "2D",
        shift: Optional[Array] = None,
        threads: int = 1,
    ) -> None:
        """``sigma_memory`` defaults to λ_m σ (CBXpy's)."""
    def start(self, x0: Array, seed: int = 0) -> CboMemoryRun:
        """A fresh run from the (N, d) array ``x0`` (memories Y = x0)."""

class PSO(_Dynamics, _ManyRuns):
    """Particle swarm optimisation as a consensus dynamics: CBO with memory plus inertia
    m and friction γ (semi-implicit in the friction, the paper's scheme)."""

    def __init__(
        self,
        objective: Objective,
        d: int,
        *,
        inertia: float = 0.001,
        friction: Optional[float] = None,
        lambda_memory: float = 0.4,
        sigma_memory: Optional[float] = None,
        lam: float = 1.0,
        sigma: float = 1.0,
        dt: float = 0.01,
        alpha: float = 1.0,
        schedule: Union[None, str, dict[str, Any]] = None,
        noise: str = "anisotropic",
        f_dim: str = "2D",
        shift: Optional[Array] = None,
        threads: int = 1,
    ) -> None:
        """``friction`` defaults to 1 − m (CBXpy's)."""
    def start(self, x0: Array, seed: int = 0) -> PsoRun:
        """A fresh run from the (N, d) array ``x0`` (memories x0, velocities 0)."""

class MirrorCBO(_Dynamics, _ManyRuns):
    """Mirror CBO: CBO in the dual coordinates Y = ∇φ(X) of a mirror map, the primal
    particles X = ∇φ*(Y) inside the map's domain."""

    def __init__(
        self,
        objective: Objective,
        d: int,
        *,
        map: str = "identity",
        lower: Optional[Array] = None,
        upper: Optional[Array] = None,
        centre: Optional[Array] = None,
        radius: float = 1.0,
        delta: float = 1.0,
        l1: float = 0.0,
        lam: float = 1.0,
        sigma: float = 1.0,
        dt: float = 0.01,
        alpha: float = 1.0,
        schedule: Union[None, str, dict[str, Any]] = None,
        noise: str = "anisotropic",
        f_dim: str = "2D",
        shift: Optional[Array] = None,
        threads: int = 1,
    ) -> None:
        """``map``: ``"identity"`` (plain CBO, bit for bit), ``"entropic"`` (the simplex),
        ``"log_barrier"`` (the box ``lower``, ``upper``), ``"ball"`` (projection onto the
        ball of ``centre`` (default 0) and ``radius``) or ``"elastic_net"``
        (φ = |x|²/(2 delta) + l1 |x|₁: sparse minimisers)."""
    def start(self, x0: Array, seed: int = 0) -> MirrorCboRun:
        """A fresh run from the (N, d) array ``x0``, strictly inside the map's domain."""

class ConstrainedCBO(_Dynamics, _ManyRuns):
    """CBO constrained to a sphere or hyperplane. Runs are ``CboRun``s."""

    def __init__(
        self,
        objective: Objective,
        d: int,
        *,
        surface: str = "sphere",
        radius: float = 1.0,
        normal: Optional[Array] = None,
        offset: float = 0.0,
        scheme: str = "drift",
        epsilon: float = 0.01,
        lam: float = 1.0,
        sigma: float = 1.0,
        dt: float = 0.01,
        alpha: float = 1.0,
        schedule: Union[None, str, dict[str, Any]] = None,
        noise: str = "anisotropic",
        f_dim: str = "2D",
        shift: Optional[Array] = None,
        threads: int = 1,
    ) -> None:
        """``surface``: ``"sphere"`` (|x| = radius) or ``"hyperplane"`` (normal·x =
        offset); ``scheme``: ``"drift"`` (penalty drift with ``epsilon``, CBXpy's
        ``DriftConstrainedCBO``; the particles approach the surface) or
        ``"hypersurface"`` (tangent-space dynamics projected back, CBXpy's
        ``HyperSurfaceCBO``; the particles lie on it after every step)."""
    def start(self, x0: Array, seed: int = 0) -> CboRun:
        """A fresh run from the (N, d) array ``x0``."""
    def distance(self, x: Array) -> Array:
        """The distance of every row of ``x`` from the surface, (N,)."""

class PathLaw:
    """A built-in law of whole paths x ∈ R^T: an MGDM target p (AR(p), CIR) or a latent
    law q₀ (i.i.d. N(0, 1), Exp(1), truncated Gaussian)."""

    t: int
    """Path length T."""
    non_negative: bool
    """Whether the law lives on [0, ∞)^T (MGDM towards it keeps paths non-negative)."""
    @staticmethod
    def ar(coeffs: Sequence[float], t: int) -> PathLaw:
        """Stationary Gaussian AR(p) with unit stationary variance."""
    @staticmethod
    def cir(kappa: float, theta: float, sigma: float, dt: float, t: int) -> PathLaw:
        """The stationary CIR process dX = κ(θ − X)dt + σ√X dW sampled every ``dt``."""
    @staticmethod
    def cir0(t: int) -> PathLaw:
        """The paper's CIR0 case."""
    @staticmethod
    def cir1(t: int) -> PathLaw:
        """The paper's CIR1 case."""
    @staticmethod
    def standard_gaussian(t: int) -> PathLaw:
        """i.i.d. N(0, 1) coordinates."""
    @staticmethod
    def exponential(t: int) -> PathLaw:
        """i.i.d. Exp(1) coordinates."""
    @staticmethod
    def truncated_gaussian(t: int, mu: float, s: float) -> PathLaw:
        """i.i.d. N(mu, s²) truncated to [0, ∞)."""
    @staticmethod
    def truncated_gaussian_matching(cir: PathLaw) -> PathLaw:
        """The truncated Gaussian with the stationary mean and sd of a CIR law."""
    @staticmethod
    def python(
        law: Any,
        t: int,
        *,
        n_draws: int,
        draws: str = "normal",
        non_negative: bool = False,
        name: str = "python",
    ) -> PathLaw:
        """A law given by Python callbacks on whole batches of paths (each called once per
        batch, never per path): ``law.sample(Z)`` maps the (n, ``n_draws``) float64 array
        Z of i.i.d. ``draws`` (``"normal"`` N(0, 1), ``"uniform"`` U(0, 1) open,
        ``"exponential"`` Exp(1); row j from path j's Rust stream (seed, purpose, 0, j),
        so paths are reproducible for any thread count) to (n, ``t``) paths, and
        ``law.log_density(X)`` maps (n, ``t``) paths to (n,) values of log p (−inf
        outside the support). ``non_negative``: the law lives on [0, ∞)^T (MGDM then
        projects). ``name`` is recorded in traced checkpoints. A raising callback's
        exception propagates unchanged; a wrong shape or dtype, NaN (or +inf) is a
        ``ValueError`` naming the method and the law's role; a missing method or bad
        ``draws`` / ``n_draws`` a ``ValueError``."""
    def sample(self, n: int, seed: int = 0, purpose: str = "latent") -> Array:
        """``n`` independent paths (n, T); path j from the stream (seed, purpose, 0, j),
        purpose ``"latent"``, ``"alpha"`` or ``"reference"``."""
    def log_density_sum(self, x: Array) -> float:
        """Σ_i log p(x_i) over the rows of the (N, T) array ``x`` (−inf off the support)."""

class FeatureMap:
    """A built-in MGDM feature map Φ: R^T → R^K."""

    t: int
    """Path length T."""
    k: int
    """Number of features K."""
    @staticmethod
    def acf1(t: int) -> FeatureMap:
        """Φ₁ = (1/T) Σ_t x_t x_{t−1}, Φ₂ = (1/T) Σ_{t≥1} x_t² (K = 2): the paper's ACF(1) features."""
    @staticmethod
    def multi_lag(t: int, max_lag: int, moments: bool = False) -> FeatureMap:
        """[m₁, m₃] (the means of x and x³, only when ``moments``), then the autocovariances a₀ … a_L of x and b₀ … b_L of x² at lags 0..=L = max_lag
        (``InvalidParameterError`` for max_lag ≥ T)."""
    def scaled(self, scale: Array) -> FeatureMap:
        """Φ'_k = s_k Φ_k (the Rust ``ScaledFeatures``): this map with feature k
        multiplied by ``scale[k]`` (K,), for balancing features of different sizes. A
        scale that is not finite and > 0 is ``InvalidParameterError`` (NaN or a wrong
        length ``ValueError``); a scaled map cannot be scaled again."""
    def target_mean(self, law: PathLaw, n_samples: int, seed: int = 0) -> Array:
        """α = (1/M) Σ_j Φ(x_j) over M = n_samples paths of ``law`` (K,)."""
    def mean(self, x: Array) -> Array:
        """(1/N) Σ_i Φ(x_i) over the rows of the (N, T) array ``x`` (K,)."""

class MgdmRun(_Run):
    """A resumable MGDM / MF-MGDM run: the (N, T) paths (``x``) as a Rust checkpoint and,
    when started with ``latent``, its reverse-KL trace (the Rust ``KlRecorder``), which
    every ``run`` call extends; ``to_json`` then writes ``{"checkpoint", "kl_trace",
    "target"}`` (the trace's per-step inputs and the target law's name), else the plain
    Rust checkpoint JSON."""

    trace: Optional[dict[str, Any]]
    """The trace so far (None without ``latent``): ``kl``, ``entropy``,
    ``cumulative_log_det``, ``target_loglik`` (step + 1,), ``min_kl``, ``argmin``,
    ``frozen`` and ``x_at_min`` (N, T), bitwise those of the trace path
    ``MGDM.run(x0, steps, latent=…, target=…)`` however the run was split or resumed."""
    @staticmethod
    def from_json(s: str, *, target: Optional[PathLaw] = None) -> "MgdmRun":
        """A run from ``to_json`` output; a traced run needs its target law again
        (``target``, checked against the recorded name: ``ValueError`` otherwise)."""
    @staticmethod
    def load(path: str, *, target: Optional[PathLaw] = None) -> "MgdmRun":
        """Reads a checkpoint file written by ``save`` (``target`` as for ``from_json``)."""

class MGDM:
    """MGDM / MF-MGDM: gradient descent of ½‖Φ̄ − α‖² on N paths with step ``gamma``,
    Φ̄ each path's own features (``coupling="independent"``) or the group mean
    (``"mean_field"``, the default: all N paths; an int G: groups of G)."""

    alpha: Array
    """The target α (K,)."""
    def __init__(
        self,
        features: FeatureMap,
        alpha: Array,
        gamma: float,
        *,
        coupling: Union[None, str, int] = None,
        project: Optional[bool] = None,
        threads: int = 1,
    ) -> None:
        """``features``: a ``FeatureMap`` (``acf1``, ``multi_lag``, or either
        ``.scaled(s)``). ``project``: the positivity projection on or off (default: on
        for a non-negative ``target`` of the trace path or of ``start``, else off)."""
    def start(
        self, x0: Array, *, latent: Optional[PathLaw] = None, target: Optional[PathLaw] = None
    ) -> MgdmRun:
        """A resumable run from the (N, T) latent sample ``x0`` (deterministic: no seed).
        With ``latent`` (the law q0 of x0) the run records the reverse-KL trace against
        ``target`` (None: KL = −entropy) at every step of every ``run`` call
        (``MgdmRun.trace``); the positivity projection then defaults to on for a
        non-negative target, as on the trace path."""
    def run(
        self,
        run: Union[Array, MgdmRun],
        steps: int,
        *,
        latent: Optional[PathLaw] = None,
        target: Optional[PathLaw] = None,
        energy_tol: Optional[float] = None,
        stagnation: Optional[Tuple[float, int]] = None,
        ess_below: Optional[float] = None,
        time_budget: Optional[float] = None,
        stop_when: Optional[Callable[[Observation], bool]] = None,
        observers: Optional[Sequence[Tuple[int, Callable[[Observation], Any]]]] = None,
        progress: Union[None, bool, Callable[[int, int], Any]] = None,
    ) -> dict[str, Any]:
        """Two ways to run, both bitwise the Rust API's.

        ``run(x0, steps, latent=q0, target=p)``: ``steps`` steps from the latent sample
        x0 (N, T) with the exact reverse-KL trace KL_k(q_k ‖ p) per path. Returns
        ``kl``, ``entropy``, ``cumulative_log_det``, ``target_loglik`` (steps + 1,),
        ``min_kl``, ``argmin``, ``x``, ``x_at_min`` (N, T) and ``frozen``; a diverging
        step size raises ``DivergedError``. Takes no Runner options.

        ``run(mgdm_run, steps, …)`` with an ``MgdmRun`` from ``start``: the Runner's stop
        criteria, observers (state ``x``; info ``dt``, ``log_det``, ``negative_dets``,
        ``frozen``), predicate, progress and time budget, as for every family; returns
        the run summary. MGDM reports no energy or ESS: ``energy_tol``/``ess_below``
        raise ``UnsupportedStopError``."""
    def fingerprint(self, n: int) -> str:
        """The fingerprint of the checkpoints of runs of ``n`` paths."""
