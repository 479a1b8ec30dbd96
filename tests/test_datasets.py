import numpy as np
import pytest

from pergdro_sklearn.datasets import APPENDIX_E_MEANS, make_shifted_groups


def test_shapes_and_labels():
    d = make_shifted_groups(random_state=0)
    assert np.bincount(d.groups_train).tolist() == [500, 420, 140, 140]
    assert np.bincount(d.groups_test).tolist() == [250, 210, 70, 70]
    np.testing.assert_array_equal(d.y_train, np.array([0, 1, 0, 1])[d.groups_train])


def test_shift_only_on_group_3_train_and_val():
    d = make_shifted_groups(n_train=(4000, 4000, 4000, 4000), n_val=(4000,) * 4,
                            n_test=(4000,) * 4, random_state=1)
    for split, shifted in (("train", True), ("val", True), ("test", False)):
        X, g = d[f"X_{split}"], d[f"groups_{split}"]
        for group in range(4):
            mean = X[g == group].mean(axis=0)
            expected = APPENDIX_E_MEANS[group] + (
                np.array([-2.0, -0.5]) if shifted and group == 3 else 0.0)
            np.testing.assert_allclose(mean, expected, atol=0.08)
    var = d.X_train[d.groups_train == 3].var(axis=0)
    np.testing.assert_allclose(var, 1.3, atol=0.1)


def test_reproducible_and_validated():
    a, b = make_shifted_groups(random_state=3), make_shifted_groups(random_state=3)
    np.testing.assert_array_equal(a.X_val, b.X_val)
    with pytest.raises(ValueError, match="4 positive counts"):
        make_shifted_groups(n_train=(1, 2, 3))


def test_shuffle_permutes_the_same_rows_and_is_the_default():
    shuffled = make_shifted_groups(random_state=5)
    ordered = make_shifted_groups(shuffle=False, random_state=5)
    for split in ("train", "val", "test"):
        g = ordered[f"groups_{split}"]
        assert np.all(np.diff(g) >= 0)  # sorted by group without the shuffle
        assert np.any(np.diff(shuffled[f"groups_{split}"]) < 0)
        # the same rows (with their labels and groups), in another order
        rows = np.column_stack([ordered[f"X_{split}"], ordered[f"y_{split}"], g])
        moved = np.column_stack([shuffled[f"X_{split}"], shuffled[f"y_{split}"],
                                 shuffled[f"groups_{split}"]])
        np.testing.assert_array_equal(np.unique(rows, axis=0), np.unique(moved, axis=0))
        np.testing.assert_array_equal(shuffled[f"y_{split}"],
                                      np.array([0, 1, 0, 1])[shuffled[f"groups_{split}"]])


@pytest.mark.parametrize("shuffle", [True, False])
def test_unshuffled_cross_validate_trains_every_fold_on_every_group(shuffle):
    import sklearn
    from sklearn.model_selection import cross_validate

    from pergdro_sklearn import PerGDROClassifier

    d = make_shifted_groups(shuffle=shuffle, random_state=0)
    estimator = PerGDROClassifier(hidden_layer_sizes=(8,), max_iter=2, random_state=0)
    with sklearn.config_context(enable_metadata_routing=True):
        result = cross_validate(estimator.set_fit_request(groups=True), d.X_train, d.y_train,
                                cv=3, params={"groups": d.groups_train},
                                return_estimator=True)
    seen = [fitted.groups_.tolist() for fitted in result["estimator"]]
    if shuffle:  # the default
        assert seen == [[0, 1, 2, 3]] * 3
    else:  # the trap the shuffle removes: a fold trains without groups 2 and 3
        assert [0, 1] in seen
