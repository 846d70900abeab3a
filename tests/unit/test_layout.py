"""The bit-reproducible starting layout: what a principal-component start must be, and that it
does not hinge on the order in which sums are taken (what differs between BLAS kernels)."""

from __future__ import annotations

import numpy as np
import pytest
from sklearn.decomposition import PCA

from insiders.layout import principal_layout, symmetric_eigen


def skewed(n: int = 2_000, seed: int = 0) -> np.ndarray:
    """Heavy-tailed, correlated columns in [0, 1], like min-max scaled customer features."""
    rng = np.random.default_rng(seed)
    base = rng.lognormal(size=(n, 1))
    X = np.hstack([base * rng.lognormal(0, 0.3, (n, 1)), rng.exponential(size=(n, 3)) + base])
    return (X - X.min(0)) / (X.max(0) - X.min(0))


def test_symmetric_eigen_matches_lapack():
    rng = np.random.default_rng(1)
    a = rng.standard_normal((6, 6))
    m = a @ a.T
    values, vectors = symmetric_eigen(m.tolist())
    expected_values, expected_vectors = np.linalg.eigh(m)
    np.testing.assert_allclose(values, expected_values[::-1], atol=1e-12 * expected_values.max())
    v = np.array(vectors)
    for i in range(6):  # the same vectors, up to sign
        e = expected_vectors[:, ::-1][:, i]
        assert min(np.abs(v[:, i] - e).max(), np.abs(v[:, i] + e).max()) < 1e-10
    np.testing.assert_allclose(v.T @ v, np.eye(6), atol=1e-12)


def test_principal_layout_is_the_pca_projection():
    X = skewed()
    layout = principal_layout(X, 2)
    pca = PCA(2, svd_solver="full").fit_transform(X)
    for c in range(2):
        sign = np.sign(layout[:, c] @ pca[:, c])
        np.testing.assert_allclose(layout[:, c], sign * pca[:, c], atol=1e-10)
    # the sign is fixed by the data: the largest loading of each component is positive
    assert layout[:, 0] @ X[:, np.argmax(np.abs(PCA(1).fit(X).components_[0]))] > 0


def test_principal_layout_does_not_depend_on_summation_order():
    """Another BLAS kernel sums the same numbers in another order; shuffling the rows does
    the same to every sum here. The layout must not move by a single bit."""
    X = skewed(3_000)
    layout = principal_layout(X, 2)
    for seed in range(3):
        order = np.random.default_rng(seed).permutation(len(X))
        assert np.array_equal(principal_layout(X[order], 2), layout[order])


def test_blas_pca_moves_with_summation_order():
    """The check above can fail: a BLAS/LAPACK PCA of the same shuffled rows is not the same
    bits (this is what moved UMAP's spectral start between CPUs)."""
    X = skewed(3_000)
    reference = PCA(2, svd_solver="full").fit_transform(X)
    moved = 0
    for seed in range(3):
        order = np.random.default_rng(seed).permutation(len(X))
        moved += not np.array_equal(PCA(2, svd_solver="full").fit_transform(X[order]), reference[order])
    assert moved > 0


@pytest.mark.parametrize("X", [
    np.ones((50, 3)),                                      # every row the same
    np.c_[np.linspace(0, 1, 50), np.full(50, 0.5)],       # one column without variance
    np.linspace(0, 1, 50)[:, None],                        # a single feature, 2-D wanted
])
def test_degenerate_data_still_gives_a_two_dimensional_layout(X):
    layout = principal_layout(X, 2)
    assert layout.shape == (len(X), 2)
    assert np.isfinite(layout).all()
    assert (layout.max(0) > layout.min(0)).all()  # UMAP rescales each axis by its range
    assert np.array_equal(layout, principal_layout(X, 2))
