"""Named constants shared across the package (one place, no magic numbers)."""

# Inter-group adversary (phi-divergence ball)
DIVERGENCE_NAMES = (
    "kl",
    "burg",
    "chi2",
    "modified_chi2",
    "tv",
    "hellinger",
    "cressie_read",
)
DEFAULT_DIVERGENCE = "kl"
DEFAULT_CRESSIE_READ_POWER = 2.0
# Supported Cressie-Read powers: the exact solver reaches the promised accuracy on random
# instances (tests against cvxpy) in this range; beyond it phi(t) = t**power overflows
# double precision for ratios t of a few units and solutions stop inside the ball.
MIN_CRESSIE_READ_POWER = -50.0
MAX_CRESSIE_READ_POWER = 200.0

# Within-group adversary (Wasserstein ball)
WASSERSTEIN_ORDERS = (1, 2, "inf")
DEFAULT_WASSERSTEIN_ORDER = "inf"
ATTACKS = ("pgd", "fgsm")
# Radii that float32 training holds: 0, or from float32's smallest normal number (below it
# a radius is, or soon becomes, 0 and the attack vanishes) to the square root of its
# largest (the squared norms of larger perturbations overflow to inf).
MIN_POSITIVE_RADIUS = 1.1754944e-38
MAX_RADIUS = 1.8446743e19
# A search bound pair low < high must hold at least this many float64 values, or the
# search space is degenerate (the optimiser cannot propose new points in it).
MIN_BOUND_FLOATS = 2**20
# Random draws that replace a repeated proposal before the space counts as exhausted.
MAX_REPLACEMENT_DRAWS = 10_000
DEFAULT_ATTACK_STEPS = 5
# The estimators' default: one gradient step per minibatch (for the infinity ball a step
# to its corner, FGSM without a random start; deterministic, so batched and sequential
# fits agree). Each step costs a forward and a backward pass, and on tabular data one
# step keeps a search within a few network fits (benchmarks/results/real_data.md);
# the Appendix E reproduction keeps the design's 5.
DEFAULT_TRAINING_ATTACK_STEPS = 1
# PGD step size as a multiple of eps / steps (Madry et al. use about 2.5).
PGD_STEP_MULTIPLIER = 2.5
# FGSM with random start (Wong et al. 2020): step = 1.25 * eps.
FGSM_STEP_MULTIPLIER = 1.25

# Training defaults
DEFAULT_HIDDEN_LAYER_SIZES = (64, 64, 64)
DEFAULT_GROUP_STEP_SIZE = 0.5
DEFAULT_GROUPDRO_STEP_SIZE = 0.01
MIN_ROWS_PER_GROUP = 2
# Joins the labels of 2-D groups (one column per attribute) into one label per row.
GROUP_LABEL_SEPARATOR = "|"

# Seeds drawn from a random_state lie in [0, SEED_MAX).
SEED_MAX = 2**31 - 1

# Upper level (search)
NONFINITE_SCORE_PENALTY = 1e6

# Evaluation of the robust objective (Eq. 9) and the Proposition 1 bound:
# projected gradient ascent with this many steps on whole groups.
EVAL_ATTACK_STEPS = 10
# Probabilities are clipped to [PROBA_CLIP, 1] before a logarithm (log loss, log-odds).
PROBA_CLIP = 1e-15
# Rows per forward pass at prediction time.
PREDICT_CHUNK_ROWS = 65536

# PerGDROSearchCV
# Default validation: one stratified holdout with this fraction of each group's rows
# (the paper tunes on a single train/validation split).
DEFAULT_SEARCH_HOLDOUT = 0.2
CHECKPOINT_FORMAT = "pergdro_sklearn.PerGDROSearchCV checkpoint"
CHECKPOINT_VERSION = 1
# Above this many points, the top-up of the factorial initial grid is sampled
# instead of enumerated.
MAX_ENUMERATED_GRID_POINTS = 1_000_000
DEFAULT_BATCH_CANDIDATES = 16
# Chosen from benchmarks/results (doc/benchmarks.rst, "Choosing the objective").
DEFAULT_SEARCH_OBJECTIVE = "worst_group_loss"

# Ensembles by greedy selection (EnsembleSelectionClassifier / Regressor)
DEFAULT_ENSEMBLE_MAX_MEMBERS = 20
# A member's predict_proba must lie in [0, 1] and its rows sum to 1, within this.
ENSEMBLE_PROBA_TOLERANCE = 1e-4
# The ensembles hold out the same fraction of each group as the search.
DEFAULT_ENSEMBLE_VALIDATION_FRACTION = DEFAULT_SEARCH_HOLDOUT
# Chosen by the worst case over benchmarks/results/selection_rules.md (doc/benchmarks.rst,
# "Selection rules").
DEFAULT_SEARCH_SELECTION = "hedged"
# Bootstrap resamples of the validation rows (within each group) that give the paired
# standard errors of selection="paired_se" and "hedged"; a fixed seed makes the pick
# reproducible.
PAIRED_BOOTSTRAP_RESAMPLES = 200
PAIRED_BOOTSTRAP_SEED = 0
# selection="hedged" returns the pick alone when its worst-group validation objective,
# or its validation error rate with the objective within one SE, beats ERM's by more
# than this many paired standard errors (None: always average).
HEDGE_MARGIN = 2.0
# Networks averaged in the refit of each picked network: three. A worst-group metric is
# a minimum over groups, so a network's seed variance lowers it; the average of three
# seeds cuts that variance at two more fits per network (doc/benchmarks.rst,
# "Seed averaging in the refit"). A picked GroupDRO is a network and is averaged the
# same way; a picked tree or linear model is refit once.
DEFAULT_REFIT_SEEDS = 3
# The name of the searched Per-GDRO model in cv_results_["param_model"] (baselines have
# their own names, see PerGDROSearchCV's baselines).
SEARCHED_MODEL = "per_gdro"
# Successive halving in the search (halving_factor="auto"): keep a third of a batch's
# candidates at each of three rungs (epochs max_iter / 9, max_iter / 3, max_iter).
DEFAULT_HALVING_FACTOR = 3.0
DEFAULT_HALVING_RUNGS = 3
# early_stopping="auto" holds out validation_fraction of the rows from this many rows on:
# below it the holdout has under 100 rows, too few to follow the worst group's loss.
EARLY_STOPPING_AUTO_MIN_ROWS = 1000
# batch_size="auto": about this many minibatches per epoch, within [MIN, MAX] rows.
AUTO_BATCHES_PER_EPOCH = 100
AUTO_BATCH_MIN = 128
AUTO_BATCH_MAX = 1024
# Early stopping and convergence (names and defaults as in MLPClassifier)
DEFAULT_VALIDATION_FRACTION = 0.1
# What early stopping follows on the holdout: the worst group's mean loss (the quantity
# group-robust training is after), the mean loss over the holdout rows (skorch's
# valid_loss, steadier when a group has few holdout rows), or "auto" (the default):
# the average for ERM, the worst group's for every network with an adversary (rho > 0,
# a positive epsilon, GroupDRO), so each network stops on the aggregate it trains.
EARLY_STOPPING_LOSSES = ("worst_group", "average", "auto")
DEFAULT_EARLY_STOPPING_LOSS = "auto"
DEFAULT_N_ITER_NO_CHANGE = 10
DEFAULT_TOL = 1e-4
# A fit whose kept training loss exceeds this multiple of its first minibatch's
# loss (before any update) has blown up, even when the loss stays finite.
LOSS_BLOWUP_FACTOR = 100.0

# group_report: bootstrap resamples per group and metric, and the intervals' coverage.
DEFAULT_N_BOOTSTRAP = 1000
DEFAULT_BOOTSTRAP_CONFIDENCE = 0.95

# group_shift_report: the radii of the within-group attack, the accuracy points whose
# loss is located ("radius_to_lose_<k>pt") and the gradient-free attack's model queries
# per radius and group.
DEFAULT_SHIFT_RADII = (0.0, 0.1, 0.25, 0.5, 1.0)
DEFAULT_SHIFT_POINTS = 5.0
DEFAULT_SHIFT_QUERIES = 100

# Real-data loaders (pergdro_sklearn.datasets)
# Seconds a download may wait for the server before it fails (when the process has set
# no socket timeout of its own).
DOWNLOAD_TIMEOUT = 60.0
# Retries of a failed connection or HTTP error, and the seconds between them
# (sklearn.datasets.fetch_file's defaults).
DOWNLOAD_RETRIES = 3
DOWNLOAD_RETRY_DELAY = 1.0
# Bytes read (and hashed) at a time.
CHUNK_SIZE = 1 << 16
