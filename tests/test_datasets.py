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
