"""Training (torch, no scikit-learn): the network, losses, attacks, the loop, robust risk.

- :mod:`.network`: the MLP, its fused batched form, modules stacked with ``torch.func``.
- :mod:`.losses`: the per-row losses and their Lipschitz constants.
- :mod:`.wasserstein`: the within-group adversary (projections and attacks).
- :mod:`.weighting`: the inter-group strategies (ERM, GroupDRO, the phi-divergence ball).
- :mod:`.loop`: Algorithm 1, the one loop that every estimator trains with.
- :mod:`.data`: the tensors of a fit, set up once and shared by every candidate.
- :mod:`.risk`: the robust objective (Eq. 9) and the Proposition 1 bound.
"""
