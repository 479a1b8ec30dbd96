"""Docstring pieces shared by the four network estimators."""


# Docstring pieces shared by the four estimators.
TRAINING_OPTIONS_DOC = """    module : callable or None, default=None
        A factory ``module(n_features, n_outputs) -> torch.nn.Module`` mapping
        ``(n, n_features)`` rows to ``(n, n_outputs)`` outputs (logits or
        predictions), called under a seed drawn from ``random_state``; ``None`` builds
        the MLP of ``hidden_layer_sizes`` and ``activation`` (then ignored). Use a
        top-level function or class so that the estimator pickles. The certified
        bound (``risk_bound``, ``track_risk_bound``) needs the default MLP.
    early_stopping : bool or "auto", default="auto"
        ``"auto"``: on from 1,000 training rows (below that the holdout has too few
        rows to follow the worst group's loss), off below. ``True``:
        hold out ``validation_fraction`` of each group's rows (stratified by group
        and class, every group on both sides), measure the validation loss named by
        ``early_stopping_loss`` after every epoch, stop when it has not improved by
        more than ``tol`` for more than ``n_iter_no_change`` epochs, and keep the best
        epoch's model (``group_counts_`` then counts the rows trained on).
    early_stopping_loss : {"auto", "worst_group", "average"}, default="auto"
        The validation loss early stopping follows. ``"auto"``: for each network the
        aggregate it trains on, the mean loss over the holdout rows (each group
        weighted by its rows) for ERM (``rho = 0`` and every ``epsilon`` 0), the worst
        group's mean loss for every network that trains against an adversary
        (``rho > 0``, a positive ``epsilon``, GroupDRO). ``"worst_group"`` and
        ``"average"`` follow one of the two for every network. The worst group's is
        what group-robust training is after, but a group with a dozen holdout rows
        makes it noisy enough to keep an epoch barely past the class prior; the
        average is steadier (:ref:`early_stopping`).
    validation_fraction : float, default=0.1
        Share of each group's rows held out when ``early_stopping=True``.
    n_iter_no_change : int, default=10
        Epochs without an improvement of more than ``tol`` before early stopping
        stops; also how long the loss must have settled to avoid a
        ``ConvergenceWarning`` when ``max_iter`` ends the fit.
    tol : float, default=1e-4
        Least improvement of the monitored loss that counts.
    balanced_batches : bool, default=False
        Draw each minibatch group by group with equal probability (rows with
        replacement, ``n_samples`` draws per epoch), as the GroupDRO reference
        code's ``--reweight_groups``; the importance weights are adjusted so that
        the training objective is unchanged.
    callbacks : list of objects or None, default=None
        Objects with a method ``on_epoch_end(estimator, epoch, logs)``, called after
        every epoch (``epoch`` counts from 1, across warm starts). ``logs`` is a
        dict: ``loss``, ``group_losses``, ``group_weights``, ``groups`` and, with
        ``early_stopping=True``, ``validation_group_losses`` and
        ``validation_loss`` (worst group), else None. Returning True or raising
        :class:`StopTraining` ends training after that epoch (``n_iter_`` is that
        epoch, no ``ConvergenceWarning``); any other exception propagates and
        leaves the estimator as it was. ``clone`` (and so every search) deep-copies
        the callbacks. With callbacks set, candidates that a search would train
        together as one batched network are trained one after another.
"""


TRAINING_ATTRIBUTES_DOC = """    group_accuracy_curve_ : list of ndarray or None
        Classifiers: the training accuracy of every group per epoch, in
        ``groups_`` order, on the rows the epoch trained on as the model step saw
        them (after the within-group attack, before each minibatch's update; the
        same rows and moments as ``group_loss_curve_``, so no extra pass over the
        data; sample weights do not weight it). ``None`` for regressors.
    best_loss_ : float
        The best monitored validation loss (``early_stopping_loss``) with
        ``early_stopping=True``, else the smallest ``loss_curve_`` value.
    best_epoch_ : int
        The epoch whose model is kept (the last one without early stopping).
    validation_scores_ : list of float or None
        The monitored validation loss per epoch (``early_stopping_loss``: the worst
        group's or the average; lower is better, unlike ``MLPClassifier``'s
        accuracy); ``None`` without early stopping.
    validation_group_loss_curve_ : list of ndarray or None
        Validation loss of every group per epoch.
    n_unknown_groups_ : int
        Training rows whose group was unknown (``unknown_groups``).
    membership_estimator_ : classifier, list or None
        The fitted membership classifier(s) of ``unknown_groups="estimate"``.
    unknown_group_weight_ : float or None
        ``unknown_groups="nominal"``: the (fixed) weight of the rows of unknown group.
    n_validation_labelled_ : int or None
        Labelled rows of the early-stopping holdout (``None`` without it).
"""


__all__ = [
    "TRAINING_ATTRIBUTES_DOC",
    "TRAINING_OPTIONS_DOC",
]
